package zoomtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
