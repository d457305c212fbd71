-- +goose Up
-- Each serve run says who it is, so that a process started on the same host
-- after a crash knows its predecessor is dead and takes up its claims at once
-- (ended_at), and records the facts an operator asks about (facts: JSON of
-- its effective alert route, version, listen address...), which
-- `zoomrecon status` shows with when that run was last seen.
ALTER TABLE uptime ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE uptime ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE uptime ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE uptime ADD COLUMN ended_at TIMESTAMPTZ;
ALTER TABLE uptime ADD COLUMN facts TEXT NOT NULL DEFAULT '';

-- claimed_by is the uptime run that holds a row's lease: once that run is
-- known to have ended, the row is due again without waiting out the lease.
ALTER TABLE alert_outbox ADD COLUMN claimed_by BIGINT;
ALTER TABLE alert_announcements ADD COLUMN claimed_by BIGINT;

-- result is the pass's outcome as its metric counts it: ok, partial or failed.
ALTER TABLE reconcile_runs ADD COLUMN result TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reconcile_runs DROP COLUMN result;
ALTER TABLE alert_announcements DROP COLUMN claimed_by;
ALTER TABLE alert_outbox DROP COLUMN claimed_by;
ALTER TABLE uptime DROP COLUMN facts;
ALTER TABLE uptime DROP COLUMN ended_at;
ALTER TABLE uptime DROP COLUMN boot_id;
ALTER TABLE uptime DROP COLUMN pid;
ALTER TABLE uptime DROP COLUMN host;
