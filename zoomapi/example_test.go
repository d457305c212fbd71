package zoomapi_test

import (
	"context"
	"errors"
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

// Keep part of the account's daily quota for its other apps: Heavy and
// Resource-intensive calls beyond the budget fail at once, without reaching
// Zoom, until 00:00 UTC.
func ExampleClient_SetDailyBudget() {
	zoom := zoomtest.New(zoomtest.WithPlan(zoomtest.PlanPro))
	defer zoom.Close()
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	uuid := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Weekly sync", Start: start})
	zoom.Join(uuid, zoomtest.Person{Name: "Ana Ruiz", Email: "ana@example.org"}, start)
	zoom.Join(uuid, zoomtest.Person{Name: "Bo Chen", Email: "bo@example.org"}, start)
	zoom.EndMeeting(uuid, start.Add(30*time.Minute))

	creds := zoom.Credentials()
	client, err := zoomapi.New(zoomapi.Config{
		AccountID: creds.AccountID, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
		TokenURL: zoom.TokenURL(), APIURL: zoom.APIURL(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Half of what a Pro account may spend a day on Heavy and
	// Resource-intensive endpoints together.
	client.SetDailyBudget(zoomapi.DailyQuota(zoomapi.PlanPro) / 2)
	fmt.Println("budget:", client.DailyBudget())

	client.SetDailyBudget(2) // small, to see it refuse
	for i := range 3 {
		_, err := client.ReportMeeting(context.Background(), uuid) // Heavy
		fmt.Printf("report %d refused: %t\n", i+1, errors.Is(err, zoomapi.ErrBudgetExhausted))
	}
	_, err = client.GetMeeting(context.Background(), 81234567890) // Light: never refused by the budget
	fmt.Println("light call refused:", errors.Is(err, zoomapi.ErrBudgetExhausted))
	spent := client.Spent()
	fmt.Println("spent today:", spent.Heavy, "Heavy,", spent.Light, "Light; sent:", client.Calls())
	// Output:
	// budget: 15000
	// report 1 refused: false
	// report 2 refused: false
	// report 3 refused: true
	// light call refused: false
	// spent today: 2 Heavy, 1 Light; sent: 3
}
