-- +goose Up
-- The WebSocket event subscription (zoom-platform.md §11). Zoom allows one
-- connection per subscription, so one serve run holds it at a time: holder
-- is that run (uptime.id), and its lease runs to lease_until unless the run
-- is known to have ended. connected_since is set while a run (connected_by)
-- is connected; seen_at is when it last confirmed the connection alive, so a
-- run that died while connected is known to have been connected until then
-- at least.
CREATE TABLE websocket_state (
    subscription_id TEXT PRIMARY KEY,
    holder          INTEGER,
    lease_until     TIMESTAMP,
    connected_by    INTEGER,
    connected_since TIMESTAMP,
    seen_at         TIMESTAMP
);

-- Each stretch in which the subscription was not connected. Zoom does not
-- deliver events then, nor later: the reconciler treats what happened inside
-- a gap as certainly lost. ended_at is NULL while the gap is open; at most one
-- is open per subscription.
CREATE TABLE websocket_gaps (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT      NOT NULL,
    started_at      TIMESTAMP NOT NULL,
    ended_at        TIMESTAMP,
    cause           TEXT      NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX websocket_gaps_open ON websocket_gaps (subscription_id) WHERE ended_at IS NULL;
CREATE INDEX websocket_gaps_started ON websocket_gaps (subscription_id, started_at);

-- +goose Down
DROP TABLE websocket_gaps;
DROP TABLE websocket_state;
