package zoomapi_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// Point a client at a fake Zoom and list who attended an ended meeting.
func ExampleClient_PastMeetingParticipants() {
	zoom := zoomtest.New()
	defer zoom.Close()
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	uuid := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Weekly sync", Start: start})
	ana := zoom.Join(uuid, zoomtest.Person{Name: "Ana Ruiz", Email: "ana@example.org"}, start)
	zoom.Join(uuid, zoomtest.Person{Name: "Bo Chen", Email: "bo@example.org"}, start.Add(time.Minute))
	zoom.Leave(uuid, ana.UserID, start.Add(30*time.Minute), "")
	zoom.EndMeeting(uuid, start.Add(45*time.Minute))

	creds := zoom.Credentials()
	client, err := zoomapi.New(zoomapi.Config{
		AccountID:    creds.AccountID,
		ClientID:     creds.ClientID,
		ClientSecret: creds.ClientSecret,
		TokenURL:     zoom.TokenURL(),
		APIURL:       zoom.APIURL(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for p, err := range client.PastMeetingParticipants(context.Background(), uuid) {
		if err != nil {
			fmt.Println("could not ask Zoom:", err)
			return
		}
		fmt.Printf("%s stayed %s\n", p.Name, time.Duration(p.Duration)*time.Second)
	}
	fmt.Println("API calls:", client.Calls())
	// Output:
	// Ana Ruiz stayed 30m0s
	// Bo Chen stayed 44m0s
	// API calls: 1
}
