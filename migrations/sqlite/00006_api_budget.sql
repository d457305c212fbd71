-- +goose Up
-- api_usage counts, per UTC day and Zoom rate-limit label, the calls the
-- reconciler made, so the daily budget holds across restarts, replicas and
-- `zoomrecon reconcile` runs (Zoom's quotas reset at 00:00 UTC).
CREATE TABLE api_usage (
    day   TEXT    NOT NULL,
    label TEXT    NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (day, label)
);

-- check_after holds back the attendance check of an ended meeting whose data
-- Zoom does not have yet, so it is asked again with backoff, not every pass.
ALTER TABLE meetings ADD COLUMN check_after TIMESTAMP;

-- +goose Down
ALTER TABLE meetings DROP COLUMN check_after;
DROP TABLE api_usage;
