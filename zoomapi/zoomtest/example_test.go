package zoomtest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// Example starts a fake Zoom, plays a meeting on it and reads the meeting's
// participants back the way a client would. A zoomapi client is pointed at
// it the same way: token URL TokenURL(), base URL APIURL(), and the
// account ID, client ID and secret from Credentials(). A webhook receiver
// gets the meeting's events after SetWebhookTarget(url, secretToken).
func Example() {
	zoom := zoomtest.New()
	defer zoom.Close()

	// Server-to-Server OAuth: Basic auth, fields in the form body (§1).
	creds := zoom.Credentials()
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {creds.AccountID}}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, zoom.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	// What happens in Zoom.
	uuid := zoom.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, UUID: "/ab+cd//efGhIjKlMnOpQ==", Topic: "Stand-up"})
	ana := zoom.Join(uuid, zoomtest.Person{Name: "Ana Ruiz", ParticipantUserID: "Pt4RkLm9Qw2eXc7vBn1MzA"}, time.Time{})
	zoom.Join(uuid, zoomtest.Person{Name: "A guest"}, time.Time{})
	zoom.Leave(uuid, ana.UserID, time.Time{}, "")
	zoom.EndMeeting(uuid, time.Time{})

	// This UUID begins with '/', so it must be encoded twice (§5).
	path := "/past_meetings/" + url.QueryEscape(url.QueryEscape(uuid)) + "/participants"
	req, _ = http.NewRequestWithContext(context.Background(), http.MethodGet, zoom.APIURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var list struct {
		TotalRecords int `json:"total_records"`
		Participants []struct {
			Name string `json:"name"`
		} `json:"participants"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	fmt.Println(resp.StatusCode, list.TotalRecords, list.Participants[0].Name)
	fmt.Println(zoom.CallCount("/past_meetings/{meetingId}/participants"))
	// Output:
	// 200 2 Ana Ruiz
	// 1
}

// Example_webhooks points the fake's webhooks at a receiver, validates its
// URL as Zoom does when an endpoint is saved, and shows Zoom's delivery
// rules: a 2xx delivers, a 4xx is refused at once and never retried, a 5xx
// is retried on the (here compressed) schedule.
func Example_webhooks() {
	const secretToken = "exampleSecretToken123"
	answers := []int{http.StatusNoContent, http.StatusBadRequest, http.StatusServiceUnavailable, http.StatusOK}
	var n atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// A real receiver checks x-zm-signature over the raw body first (§2).
		var msg struct {
			Event   string `json:"event"`
			Payload struct {
				PlainToken string `json:"plainToken"`
			} `json:"payload"`
		}
		_ = json.Unmarshal(body, &msg)
		if msg.Event == "endpoint.url_validation" {
			mac := hmac.New(sha256.New, []byte(secretToken))
			mac.Write([]byte(msg.Payload.PlainToken))
			_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": msg.Payload.PlainToken, "encryptedToken": hex.EncodeToString(mac.Sum(nil))})
			return
		}
		w.WriteHeader(answers[n.Add(1)-1])
	}))
	defer receiver.Close()

	zoom := zoomtest.New()
	defer zoom.Close()
	zoom.SetWebhookTarget(receiver.URL, secretToken)
	zoom.SetRetrySchedule(time.Millisecond, time.Millisecond, time.Millisecond) // Zoom: 5m, 20m, 60m
	ctx := context.Background()
	if err := zoom.ValidateURL(ctx); err != nil {
		fmt.Println(err)
		return
	}

	uuid := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Stand-up"})
	p := zoom.Join(uuid, zoomtest.Person{Name: "Ana Ruiz"}, time.Time{})
	zoom.Leave(uuid, p.UserID, time.Time{}, "")
	if err := zoom.WaitDelivered(ctx, 3); err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range zoom.Deliveries() {
		fmt.Println(d.Event, d.Status, d.Attempts, d.Delivered, d.Refused)
	}
	// Output:
	// meeting.started 204 1 true false
	// meeting.participant_joined 400 1 false true
	// meeting.participant_left 200 2 true false
}
