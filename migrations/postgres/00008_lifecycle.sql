-- +goose Up
-- A person acknowledges an open discrepancy (zoomrecon ack): it stays open,
-- since nothing was fixed, but someone owns it, and its Slack message says
-- who and why.
ALTER TABLE discrepancies ADD COLUMN acknowledged_at TIMESTAMPTZ;
ALTER TABLE discrepancies ADD COLUMN acknowledged_by TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN ack_note TEXT NOT NULL DEFAULT '';

-- A mute (zoomrecon mute) holds back the alerts of one host's or one
-- meeting's discrepancies until it runs out (until) or is lifted (ended_at);
-- the discrepancies are recorded all the same. host is the host's email or
-- Zoom user ID as given; meeting_id is Zoom's numeric meeting ID. Exactly one
-- of the two is set.
CREATE TABLE mutes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host       TEXT      NOT NULL DEFAULT '',
    meeting_id BIGINT    NOT NULL DEFAULT 0,
    reason     TEXT      NOT NULL,
    created_by TEXT      NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    until      TIMESTAMPTZ NOT NULL,
    ended_at   TIMESTAMPTZ,
    CHECK ((host <> '') <> (meeting_id <> 0))
);
CREATE INDEX mutes_active ON mutes (ended_at, until);

-- A host mute matches by email through the host's own participant sessions
-- (Zoom gives the host's user ID as the participant's): this finds them.
CREATE INDEX participant_sessions_user ON participant_sessions (participant_user_id);

-- muted_by is the mute that kept an alert from Slack. Such an alert is
-- 'dead' (never tried again: the status CHECK predates mutes), and muted_by
-- tells it from one Slack refused.
ALTER TABLE alert_outbox ADD COLUMN muted_by BIGINT;

-- alert_edits queue the edit of a delivered message whose discrepancy was
-- acknowledged, muted or unmuted, leased like alert_announcements.
CREATE TABLE alert_edits (
    outbox_id       BIGINT    PRIMARY KEY REFERENCES alert_outbox (id) ON DELETE CASCADE,
    status          TEXT      NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'edited', 'dead')),
    tries           INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT      NOT NULL DEFAULT '',
    claimed_by      BIGINT,
    edited_at       TIMESTAMPTZ
);
CREATE INDEX alert_edits_due ON alert_edits (status, next_attempt_at);

-- +goose Down
DROP INDEX alert_edits_due;
DROP TABLE alert_edits;
ALTER TABLE alert_outbox DROP COLUMN muted_by;
DROP INDEX participant_sessions_user;
DROP INDEX mutes_active;
DROP TABLE mutes;
ALTER TABLE discrepancies DROP COLUMN ack_note;
ALTER TABLE discrepancies DROP COLUMN acknowledged_by;
ALTER TABLE discrepancies DROP COLUMN acknowledged_at;
