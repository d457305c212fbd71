package zoomapi_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// pageServer serves a token and GET /v2/report/users/{userId}/meetings pages
// of total Zoom-shaped meetings, generated on the fly from the page token
// (an offset), so the server holds no data and allocates little.
func pageServer(tb testing.TB, total int) *httptest.Server {
	tb.Helper()
	pool := sync.Pool{New: func() any { b := make([]byte, 0, 256<<10); return &b }}
	start := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"bench-token","token_type":"bearer","expires_in":3599,"scope":"report:read:admin"}`))
	})
	mux.HandleFunc("GET /v2/report/users/{userId}/meetings", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
		off, _ := strconv.Atoi(r.URL.Query().Get("next_page_token"))
		end := min(off+size, total)
		bp := pool.Get().(*[]byte)
		b := (*bp)[:0]
		b = append(b, `{"from":"2024-03-01","to":"2024-03-31","page_size":`...)
		b = strconv.AppendInt(b, int64(size), 10)
		b = append(b, `,"total_records":`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, `,"next_page_token":"`...)
		if end < total {
			b = strconv.AppendInt(b, int64(end), 10)
		}
		b = append(b, `","meetings":[`...)
		for i := off; i < end; i++ {
			if i > off {
				b = append(b, ',')
			}
			st := start.Add(time.Duration(i) * time.Minute)
			b = append(b, `{"uuid":"`...)
			b = strconv.AppendInt(b, int64(i), 36)
			b = append(b, `+Ab/Cd0123456789==","id":`...)
			b = strconv.AppendInt(b, 81000000000+int64(i), 10)
			b = append(b, `,"type":2,"topic":"Weekly sync `...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, `","user_name":"Ana Ruiz","user_email":"ana.ruiz@example.org","start_time":"`...)
			b = st.AppendFormat(b, time.RFC3339)
			b = append(b, `","end_time":"`...)
			b = st.Add(45*time.Minute).AppendFormat(b, time.RFC3339)
			b = append(b, `","duration":45,"total_minutes":130,"participants_count":3,"source":"Zoom","session_key":""}`...)
		}
		b = append(b, "]}"...)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("X-RateLimit-Category", "Heavy")
		_, _ = w.Write(b)
		*bp = b
		pool.Put(bp)
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkListPastMeetings lists 1,000 and 10,000 past meetings through
// ReportUserMeetings, 100 per page (the Heavy cap the client asks for). Memory must stay flat: the iterator holds
// one page, so peak-heap-MiB (HeapInuse after a GC, sampled after every page
// of a separate, untimed listing) must not grow with the number of meetings,
// and allocs/meeting must stay constant.
func BenchmarkListPastMeetings(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run("meetings="+strconv.Itoa(n), func(b *testing.B) {
			srv := pageServer(b, n)
			c, err := zoomapi.New(zoomapi.Config{
				AccountID: "acct", ClientID: "id", ClientSecret: "secret",
				TokenURL: srv.URL + "/oauth/token", APIURL: srv.URL + "/v2",
				RequestsPerSecond: -1,
			})
			if err != nil {
				b.Fatal(err)
			}
			from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
			to := time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
			list := func(sample func()) {
				count := 0
				for m, err := range c.ReportUserMeetings(b.Context(), "ana.ruiz@example.org", from, to) {
					if err != nil {
						b.Fatal(err)
					}
					if m.ID == 0 || m.StartTime.IsZero() {
						b.Fatalf("meeting %d decoded badly: %+v", count, m)
					}
					count++
					if sample != nil && count%zoomapi.PageSizeOf(zoomapi.EndpointReportUserMeetings) == 0 {
						sample()
					}
				}
				if count != n {
					b.Fatalf("listed %d meetings, want %d", count, n)
				}
			}

			// Untimed: peak heap while listing, sampled once per page.
			list(nil) // warm up: token, connections
			var ms runtime.MemStats
			var peak uint64
			list(func() {
				// Collect first, so HeapInuse is what the listing keeps alive,
				// not garbage waiting for the next cycle.
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			})

			b.ReportAllocs()
			runtime.ReadMemStats(&ms)
			mallocs := ms.Mallocs
			iters := 0
			for b.Loop() {
				list(nil)
				iters++
			}
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(iters*n), "allocs/meeting")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*n), "ns/meeting")
		})
	}
}
