-- +goose Up
-- The last event received is found by id, which follows commit order, so
-- received_at needs no index: one less B-tree to update on the ingest path,
-- which commits every webhook before answering it.
DROP INDEX events_received_at;

-- +goose Down
CREATE INDEX events_received_at ON events (received_at);
