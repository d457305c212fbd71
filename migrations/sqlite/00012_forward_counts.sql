-- +goose Up
-- How many deliveries each relay destination has accepted, counted as they
-- are marked delivered: status and every scrape read it instead of counting
-- delivered rows, which history retention keeps for a year.
CREATE TABLE forward_counts (
    destination TEXT    PRIMARY KEY,
    delivered   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO forward_counts (destination, delivered)
SELECT destination, COUNT(*) FROM forward_deliveries WHERE status = 'delivered' GROUP BY destination;
-- The deliveries still open (pending or dead), which status counts.
CREATE INDEX forward_deliveries_open ON forward_deliveries (destination, status) WHERE status <> 'delivered';

-- +goose Down
DROP INDEX forward_deliveries_open;
DROP TABLE forward_counts;
