-- +goose Up
-- alert_announcements follows a delivered alert after its discrepancy resolves:
-- the announcement is an edit of the Slack message (chat.update) or, where the
-- message cannot be edited, a short follow-up. A row appears once the
-- discrepancy has resolved and is leased like alert_outbox rows, so one sender
-- announces it, once. It lives beside alert_outbox rather than in new columns
-- there because the store reads outbox rows with SELECT *.
CREATE TABLE alert_announcements (
    outbox_id       BIGINT    PRIMARY KEY REFERENCES alert_outbox (id) ON DELETE CASCADE,
    status          TEXT      NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'announced', 'dead')),
    tries           INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT      NOT NULL DEFAULT '',
    announced_at    TIMESTAMPTZ
);
CREATE INDEX alert_announcements_due ON alert_announcements (status, next_attempt_at);

-- A Slack message is edited as a whole, so the alerts that share one (a digest,
-- a silence and the alerts folded into it) are found by its channel and ts.
CREATE INDEX alert_outbox_message ON alert_outbox (slack_channel, slack_ts);

-- Resolutions that happened before announcements existed are not news.
INSERT INTO alert_announcements (outbox_id, status, next_attempt_at, announced_at)
SELECT o.id, 'announced', d.resolved_at, d.resolved_at
FROM alert_outbox o JOIN discrepancies d ON d.id = o.discrepancy_id
WHERE o.status = 'sent' AND d.resolved_at IS NOT NULL;

-- +goose Down
DROP INDEX alert_outbox_message;
DROP TABLE alert_announcements;
