package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

func newDemoCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve against a bundled fake Zoom that plays meetings and loses some of their webhooks",
		Long: `Run the daemon exactly as serve does, but against a fake Zoom started in the
same process: it plays a meeting every few seconds, sends its webhooks signed
like Zoom's, and loses some of them on purpose (an ended, a participant's
leave, a whole meeting). Watch the log for the discrepancies zoomrecon finds,
and try "ZOOMRECON_DATABASE_URL=sqlite:zoomrecon-demo.db zoomrecon status"
from another terminal.
Timing is compressed: grace 15s, stale after 2m, silence after 1m.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return demo(cmd.Context(), cfg, e, database)
		},
	}
	cmd.Flags().StringVar(&database, "database-url", "sqlite:zoomrecon-demo.db", "database for the demo (kept apart from zoomrecon.db)")
	return cmd
}

func demo(ctx context.Context, cfg *config.Config, e env, database string) error {
	zoom := zoomtest.New()
	defer zoom.Close()
	secret := randomHex(16)
	creds := zoom.Credentials()

	c := *cfg
	c.DatabaseURL = config.Secret(database)
	c.Zoom.AccountID, c.Zoom.ClientID, c.Zoom.ClientSecret = creds.AccountID, creds.ClientID, config.Secret(creds.ClientSecret)
	c.Zoom.APIBaseURL, c.Zoom.OAuthTokenURL = zoom.APIURL(), zoom.TokenURL()
	c.Zoom.WebhookSecretTokens = []config.Secret{config.Secret(secret)}
	c.Reconcile.Interval, c.Reconcile.MissedGrace = 5*time.Second, 15*time.Second
	c.Reconcile.StaleAfter, c.Reconcile.SilenceAfter, c.Reconcile.Lookback = 2*time.Minute, time.Minute, time.Hour
	// The demo's day lasts minutes: its listings may use the fake account's
	// whole quota, unpaced, or losses would show only after real hours.
	c.Zoom.ResourceIntensivePerMinute, c.Zoom.APIDailyBudget = 6000, config.Budget{Calls: 60_000}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listening := make(chan net.Addr, 1)
	de := e
	de.onListen = func(a net.Addr) { e.onListen(a); listening <- a }
	served := make(chan error, 1)
	go func() { served <- serve(ctx, &c, de, newLogger(e, c.LogLevel)) }()

	select {
	case err := <-served:
		return err
	case a := <-listening:
		port := a.(*net.TCPAddr).Port
		zoom.SetWebhookTarget(fmt.Sprintf("http://127.0.0.1:%d%s", port, c.WebhookPath), secret)
	}
	if err := zoom.ValidateURL(ctx); err != nil {
		return fmt.Errorf("the fake Zoom could not validate the webhook URL: %w", err)
	}
	fmt.Fprintf(e.stdout, "demo: fake Zoom at %s; database %s; Ctrl-C to stop\n", zoom.APIURL(), database)

	played := make(chan struct{})
	go func() { defer close(played); playMeetings(ctx, zoom, e.stdout) }()
	err := <-served
	cancel()
	<-played // before the deferred Close of the fake Zoom
	return err
}

// playMeetings starts a meeting every few seconds; each lasts 10 to 30
// seconds and loses some of its webhooks on purpose.
func playMeetings(ctx context.Context, zoom *zoomtest.Server, out io.Writer) {
	losses := []struct {
		what string
		drop func(uuid string) zoomtest.Rule
	}{
		{"nothing lost", nil},
		{"nothing lost", nil},
		{"nothing lost", nil},
		{"meeting.ended lost", func(uuid string) zoomtest.Rule { return dropFor(uuid, "meeting.ended") }},
		{"a participant_left lost", func(uuid string) zoomtest.Rule { return dropFor(uuid, "meeting.participant_left") }},
		{"every webhook lost", func(uuid string) zoomtest.Rule { return dropFor(uuid, "") }},
	}
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	// The leaves and ends still to come; stopped when the demo ends.
	var pending []*time.Timer
	defer func() {
		for _, t := range pending {
			t.Stop()
		}
	}()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		loss := losses[rand.N(len(losses))]
		uuid := randomUUID()
		if loss.drop != nil {
			zoom.AddRule(loss.drop(uuid))
		}
		topic := fmt.Sprintf("Demo meeting %d", n)
		zoom.StartMeeting(zoomtest.MeetingSpec{UUID: uuid, Topic: topic, HostID: "demoHost"})
		first := zoom.Join(uuid, zoomtest.Person{Name: "Ann Lee", Email: "ann@example.org"}, time.Time{})
		zoom.Join(uuid, zoomtest.Person{Name: "Bob Roe"}, time.Time{})
		fmt.Fprintf(out, "demo: %s started (%s)\n", topic, loss.what)
		length := 10*time.Second + rand.N(20*time.Second)
		pending = append(pending,
			time.AfterFunc(length/2, func() { zoom.Leave(uuid, first.UserID, time.Time{}, "") }),
			time.AfterFunc(length, func() { zoom.EndMeeting(uuid, time.Time{}) }))
		timer.Reset(8 * time.Second)
	}
}

// dropFor loses the deliveries of one meeting's event ("" for all of them).
func dropFor(uuid, event string) zoomtest.Rule {
	needle := []byte(`"uuid":"` + uuid + `"`)
	return func(e string, body []byte, _ int) zoomtest.Action {
		return zoomtest.Action{Drop: (event == "" || e == event) && bytes.Contains(body, needle)}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

// randomUUID makes an instance UUID shaped like Zoom's (base64 of 16 bytes)
// without '/' so the demo's log lines are easy to follow.
func randomUUID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[rand.N(len(alphabet))]
	}
	return string(b) + "=="
}
