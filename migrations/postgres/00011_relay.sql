-- +goose Up
-- The events Zoom never sent, as zoomrecon rebuilt them from the API when it
-- backfilled them, in Zoom's own payload shape: the relay delivers them to
-- the application behind zoomrecon, and replay can deliver them again.
-- dedup_key names what it stands for (the event, the instance, the
-- participant), so a backfill repeated never queues it twice.
CREATE TABLE reconstructed_events (
    id           BIGSERIAL PRIMARY KEY,
    dedup_key    TEXT      NOT NULL UNIQUE,
    event_type   TEXT      NOT NULL,
    meeting_uuid TEXT      NOT NULL DEFAULT '',
    event_ts     TIMESTAMPTZ NOT NULL,
    body         BYTEA     NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reconstructed_events_ts ON reconstructed_events (event_ts);

-- The relay's queue: one row per event and destination, queued in the
-- transaction that stores the event. Exactly one of event_id and
-- reconstructed_id is set. A destination gets the deliveries of one meeting
-- in the order of their ids; status is pending until delivered, or dead
-- (refused with a 4xx, whose answer is kept, or retried past the give-up
-- time). The lease columns are the alert outbox's.
CREATE TABLE forward_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    destination      TEXT      NOT NULL,
    event_id         BIGINT,
    reconstructed_id BIGINT,
    event_type       TEXT      NOT NULL,
    meeting_uuid     TEXT      NOT NULL DEFAULT '',
    replay           BOOLEAN   NOT NULL DEFAULT FALSE,
    status           TEXT      NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    tries            INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    claimed_by       BIGINT,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
    last_error       TEXT      NOT NULL DEFAULT '',
    answer_status    INTEGER   NOT NULL DEFAULT 0,
    answer_body      TEXT      NOT NULL DEFAULT '',
    CHECK ((event_id IS NULL) <> (reconstructed_id IS NULL))
);
CREATE INDEX forward_deliveries_due ON forward_deliveries (destination, status, next_attempt_at, id);
CREATE INDEX forward_deliveries_order ON forward_deliveries (destination, meeting_uuid, id) WHERE status = 'pending';
CREATE INDEX forward_deliveries_event ON forward_deliveries (event_id) WHERE status = 'pending';

-- +goose Down
DROP TABLE forward_deliveries;
DROP TABLE reconstructed_events;
