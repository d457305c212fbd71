// Package alerts delivers discrepancies to people, through Slack: it renders
// each alert as a Block Kit message with a plain text fallback that carries
// the essentials on its own, and a Sender drains the alert outbox to Slack,
// by an incoming webhook or by a bot token and channel (or, with neither, to
// the log).
//
// It owns how alerts read and how they travel:
//
//   - Never lost. The reconciler writes an alert in the same transaction as
//     its discrepancy (package store); a Sender claims due alerts with a
//     lease, so with several replicas on PostgreSQL each alert is claimed by
//     one sender, and marks an alert sent only after Slack accepted it. The
//     lease is recorded as the serve run's (Config.RunID): once that run is
//     known ended, its claims are due to others at once. A
//     failure schedules the next try with capped exponential backoff and
//     jitter; a 429 waits at least the Retry-After Slack gave; requests are
//     paced to about one a second, Slack's per-channel limit. All of that
//     state is in the database, so it survives restarts. Delivery is at
//     least once: a crash between Slack's answer and the commit sends the
//     message again.
//   - Once, and grouped. One alert per discrepancy. More than a few alerts of
//     one kind due at once go as one digest, listing a capped number and
//     counting the rest. While a webhook silence is open, the missed-event
//     alerts it explains are folded into its message (or, once it is out, into
//     a reply in its thread) instead of arriving one by one.
//   - Resolution in place. With a bot token a message is edited (chat.update)
//     when its discrepancy resolves; where that is impossible, the urgent
//     kinds (webhook_silence, url_validation_refused, stale_meeting) get one
//     short follow-up. Each resolution is announced once.
//   - No secret leaves: the webhook URL and the bot token never appear in
//     logs, errors, the outbox's last_error or metrics.
//
// What a kind means (urgent, about the account, missed and so folded into a
// silence, the webhook it names for a meeting or a webinar) it reads from
// store.KindInfo; it owns only the wording (message.go, kindTexts).
//
// It leaves finding discrepancies to package reconciler and every SQL
// statement to package store; it imports neither reconciler nor config (cmd
// copies the Slack settings into Config).
package alerts
