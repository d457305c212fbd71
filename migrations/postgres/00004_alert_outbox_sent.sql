-- +goose Up
-- status reads when Slack last accepted an alert on every sender pass (every
-- few seconds); without this index that reads every sent row, and sent rows
-- are kept for good.
CREATE INDEX alert_outbox_sent ON alert_outbox (status, sent_at);

-- +goose Down
DROP INDEX alert_outbox_sent;
