package zoomtest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Pagination as zoom-platform.md §5 describes it: page_size (default 30)
// and an opaque next_page_token, "" on the last page, that expires after 15
// minutes (WithPageTokenTTL). A page holds at most 300 rows (§5), and fewer
// on Heavy endpoints: 30, 50 or 100 depending on the endpoint (§10 "Page
// sizes"), WithHeavyPageSize. §10 names no cap for Resource-intensive
// (Dashboard) endpoints, so they keep §5's 300.
const (
	defaultPageSize      = 30
	maxPageSize          = 300
	defaultHeavyPageSize = 100
)

// maxPage is the largest page the call's endpoint serves.
func (c *call) maxPage() int {
	if c.rt.label == "Heavy" {
		return c.s.heavyPageSize
	}
	return maxPageSize
}

// pageInfo is the paging part of a list answer.
type pageInfo struct {
	PageCount     int    `json:"page_count"`
	PageSize      int    `json:"page_size"`
	TotalRecords  int    `json:"total_records"`
	NextPageToken string `json:"next_page_token"`
}

// cursor is what a next_page_token stands for: where the next page of one
// listing starts.
type cursor struct {
	listing string
	offset  int
	expires time.Time
}

// badPageToken answers an unknown, expired or foreign next_page_token. Zoom's
// exact text is not known (§9 [U]); code 300 is its validation code (§7).
func badPageToken() *apiError {
	return &apiError{status: http.StatusBadRequest, Code: 300, Message: "The next page token is invalid or expired."}
}

// page chooses the items [start, end) of a listing of total items that this
// request asks for, and the paging fields to answer with.
func (c *call) page(total int) (start, end int, info pageInfo, _ *apiError) {
	s := c.s
	size := defaultPageSize
	if v := c.q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, pageInfo{}, &apiError{status: http.StatusBadRequest, Code: 300, Message: "Invalid field: page_size."}
		}
		if n > 0 {
			size = min(n, c.maxPage())
		}
	}
	listing := c.listing()
	if tok := c.q.Get("next_page_token"); tok != "" {
		cur, ok := s.pages[tok]
		if !ok || cur.listing != listing || !c.now.Before(cur.expires) {
			return 0, 0, pageInfo{}, badPageToken()
		}
		start = min(cur.offset, total)
	}
	end = min(start+size, total)
	info = pageInfo{PageCount: (total + size - 1) / size, PageSize: size, TotalRecords: total}
	if end < total {
		for k, cur := range s.pages {
			if !c.now.Before(cur.expires) {
				delete(s.pages, k)
			}
		}
		info.NextPageToken = randString(35, alnum)
		s.pages[info.NextPageToken] = &cursor{listing: listing, offset: end, expires: c.now.Add(s.pageTTL)}
	}
	return start, end, info, nil
}

// listing names what a request lists: the endpoint, its path parameters and
// its filters, so a token cannot continue another listing.
func (c *call) listing() string {
	q := url.Values{}
	for k, v := range c.q {
		if k != "page_size" && k != "next_page_token" {
			q[k] = v
		}
	}
	var b strings.Builder
	b.WriteString(c.rt.template)
	for _, p := range c.params {
		b.WriteString("|" + p)
	}
	b.WriteString("|" + q.Encode())
	return b.String()
}
