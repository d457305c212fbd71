-- +goose Up
-- Times are TIMESTAMP columns written by the store in UTC as
-- "YYYY-MM-DD HH:MM:SS[.fffffffff]+00:00", a form that sorts correctly as text.

CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key    TEXT      NOT NULL UNIQUE,
    event_type   TEXT      NOT NULL,
    event_ts     TIMESTAMP NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    meeting_uuid TEXT      NOT NULL DEFAULT '',
    body         BLOB      NOT NULL
);
CREATE INDEX events_meeting_uuid ON events (meeting_uuid);
CREATE INDEX events_received_at ON events (received_at);

CREATE TABLE meetings (
    uuid          TEXT      PRIMARY KEY,
    meeting_id    INTEGER   NOT NULL DEFAULT 0,
    host_id       TEXT      NOT NULL DEFAULT '',
    topic         TEXT      NOT NULL DEFAULT '',
    type          TEXT      NOT NULL DEFAULT 'meeting' CHECK (type IN ('meeting', 'webinar')),
    zoom_type     INTEGER   NOT NULL DEFAULT 0,
    status        TEXT      NOT NULL DEFAULT 'started' CHECK (status IN ('started', 'ended')),
    start_time    TIMESTAMP,
    start_source  TEXT      NOT NULL DEFAULT '' CHECK (start_source IN ('', 'webhook', 'reconciled')),
    end_time      TIMESTAMP,
    end_source    TEXT      NOT NULL DEFAULT '' CHECK (end_source IN ('', 'webhook', 'reconciled')),
    first_seen_at TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    verified_at   TIMESTAMP
);
CREATE INDEX meetings_status ON meetings (status, start_time);
CREATE INDEX meetings_end_time ON meetings (end_time);

CREATE TABLE participant_sessions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_uuid        TEXT      NOT NULL REFERENCES meetings (uuid) ON DELETE CASCADE,
    participant_key     TEXT      NOT NULL,
    user_id             TEXT      NOT NULL DEFAULT '',
    participant_user_id TEXT      NOT NULL DEFAULT '',
    participant_uuid    TEXT      NOT NULL DEFAULT '',
    registrant_id       TEXT      NOT NULL DEFAULT '',
    user_name           TEXT      NOT NULL DEFAULT '',
    email               TEXT      NOT NULL DEFAULT '',
    join_time           TIMESTAMP,
    join_source         TEXT      NOT NULL DEFAULT '' CHECK (join_source IN ('', 'webhook', 'reconciled')),
    leave_time          TIMESTAMP,
    leave_source        TEXT      NOT NULL DEFAULT '' CHECK (leave_source IN ('', 'webhook', 'reconciled')),
    leave_reason        TEXT      NOT NULL DEFAULT '',
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    CHECK (join_time IS NOT NULL OR leave_time IS NOT NULL)
);
CREATE INDEX participant_sessions_meeting ON participant_sessions (meeting_uuid, participant_key);

CREATE TABLE discrepancies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT      NOT NULL CHECK (kind IN ('missed_meeting_started', 'missed_meeting_ended',
                     'missed_participant_joined', 'missed_participant_left', 'stale_meeting', 'webhook_silence')),
    meeting_uuid TEXT      NOT NULL DEFAULT '',
    subject      TEXT      NOT NULL DEFAULT '',
    detail       TEXT      NOT NULL DEFAULT '',
    detected_at  TIMESTAMP NOT NULL,
    resolved_at  TIMESTAMP,
    resolution   TEXT      NOT NULL DEFAULT '',
    backfilled   BOOLEAN   NOT NULL DEFAULT FALSE,
    UNIQUE (kind, meeting_uuid, subject)
);
CREATE INDEX discrepancies_open ON discrepancies (resolved_at, kind);

CREATE TABLE reconcile_runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    triggered_by        TEXT      NOT NULL CHECK (triggered_by IN ('schedule', 'manual')),
    window_start        TIMESTAMP NOT NULL,
    window_end          TIMESTAMP NOT NULL,
    dry_run             BOOLEAN   NOT NULL DEFAULT FALSE,
    started_at          TIMESTAMP NOT NULL,
    finished_at         TIMESTAMP,
    meetings_checked    INTEGER   NOT NULL DEFAULT 0,
    discrepancies_found INTEGER   NOT NULL DEFAULT 0,
    backfilled          INTEGER   NOT NULL DEFAULT 0,
    api_calls           INTEGER   NOT NULL DEFAULT 0,
    error               TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_at);

CREATE TABLE alert_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    discrepancy_id  INTEGER   REFERENCES discrepancies (id) ON DELETE SET NULL,
    kind            TEXT      NOT NULL,
    payload         TEXT      NOT NULL,
    status          TEXT      NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    tries           INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT      NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    slack_channel   TEXT      NOT NULL DEFAULT '',
    slack_ts        TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX alert_outbox_due ON alert_outbox (status, next_attempt_at);
CREATE INDEX alert_outbox_discrepancy ON alert_outbox (discrepancy_id);

-- daemon_state holds small facts the daemon must remember across restarts,
-- such as when it first started (the scheduled sweep never reaches back past it).
CREATE TABLE daemon_state (
    key        TEXT      PRIMARY KEY,
    value      TEXT      NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE daemon_state;
DROP TABLE alert_outbox;
DROP TABLE reconcile_runs;
DROP TABLE discrepancies;
DROP TABLE participant_sessions;
DROP TABLE meetings;
DROP TABLE events;
