-- +goose Up
-- An authentic event is stored whatever its event_ts holds; one that is not a
-- usable time is kept with no event_ts rather than with a wrong one.
ALTER TABLE events ALTER COLUMN event_ts DROP NOT NULL;

-- The discrepancy kinds live in one place, the store's Go constants; a CHECK
-- here would need a migration for every new kind.
ALTER TABLE discrepancies DROP CONSTRAINT discrepancies_kind_check;

-- uptime has one row per run of zoomrecon serve: when it started and when it
-- last proved it could commit. The gaps between the rows are the times Zoom
-- was told (by silence or by 503s) to retry its webhooks.
CREATE TABLE uptime (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    beat_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX uptime_beat ON uptime (beat_at);

-- webhook_tally counts, per minute and reason, the deliveries the receiver
-- did not store: refusals Zoom treats as final (4xx) and 503s it retries.
CREATE TABLE webhook_tally (
    minute     TIMESTAMPTZ NOT NULL,
    reason     TEXT        NOT NULL,
    count      BIGINT      NOT NULL,
    first_at   TIMESTAMPTZ NOT NULL,
    last_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (minute, reason)
);

-- +goose Down
DROP TABLE webhook_tally;
DROP TABLE uptime;
ALTER TABLE discrepancies ADD CONSTRAINT discrepancies_kind_check CHECK (kind IN ('missed_meeting_started',
    'missed_meeting_ended', 'missed_participant_joined', 'missed_participant_left', 'stale_meeting', 'webhook_silence'));
ALTER TABLE events ALTER COLUMN event_ts SET NOT NULL;
