package main

import (
	"github.com/zoomrecon/zoomrecon/config"
)

// daemonFacts are what an operator asks about a running serve and cannot
// learn from their own shell: its settings come from systemd credentials or
// an environment file the shell does not see. serve records them with its
// uptime row, and status reads them from there. No secret goes in: only
// whether one is set.
type daemonFacts struct {
	Version string `json:"version"`
	// AlertRoute is how alerts leave: "bot", "webhook" or "log".
	AlertRoute   string `json:"alert_route"`
	SlackChannel string `json:"slack_channel,omitempty"`
	ListenAddr   string `json:"listen_addr"`
	WebhookPath  string `json:"webhook_path"`
	// WebhookSecrets is how many Secret Tokens the receiver verifies with;
	// 0 means every delivery is refused.
	WebhookSecrets int `json:"webhook_secrets"`
	// WebSocketSubscription is the WebSocket event subscription received
	// from, if any.
	WebSocketSubscription string `json:"websocket_subscription_id,omitempty"`
	// Reconciling says whether the reconciler runs: it needs the Zoom
	// app's credentials.
	Reconciling       bool   `json:"reconciling"`
	ReconcileInterval string `json:"reconcile_interval,omitempty"`
	Lookback          string `json:"reconcile_lookback,omitempty"`
	APIDailyBudget    string `json:"zoom_api_daily_budget,omitempty"`
	Database          string `json:"database"`
}

func newDaemonFacts(cfg *config.Config, dialect string) daemonFacts {
	f := daemonFacts{
		Version:               buildVersion(),
		AlertRoute:            cfg.SlackMode(),
		ListenAddr:            cfg.ListenAddr,
		WebhookPath:           cfg.WebhookPath,
		WebhookSecrets:        len(cfg.Zoom.WebhookSecretTokens),
		WebSocketSubscription: cfg.Zoom.WebSocketSubscriptionID,
		Reconciling:           cfg.ZoomConfigured(),
		Database:              dialect,
	}
	if f.AlertRoute == "bot" {
		f.SlackChannel = cfg.Slack.Channel
	}
	if f.Reconciling {
		f.ReconcileInterval = cfg.Reconcile.Interval.String()
		f.Lookback = cfg.Reconcile.Lookback.String()
		f.APIDailyBudget = cfg.Zoom.APIDailyBudget.String()
	}
	return f
}
