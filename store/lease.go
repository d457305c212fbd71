package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// leased is a table whose pending rows a sender claims with a lease: the
// alert outbox, the announcements and edits keyed by their alert, and the
// relay's deliveries. Each has status, next_attempt_at, claimed_by, tries and
// last_error; the claim, failure and release queries below are written once
// for all of them.
type leased struct {
	table, key string
	// scope, if set, is a column a claim filters on: each sender claims only
	// its own rows (a relay destination's).
	scope string
	// inOrder, if set, is a column that groups rows: a pending row is not due
	// while a row of the same scope and group with a lower key is still
	// pending (claimed, or waiting out a backoff), so the rows of one meeting
	// go out one at a time, in order. Its empty value is no group.
	inOrder string
}

// claim is one claim of a leased table's due rows.
type claim struct {
	// by is the claiming serve run; 0 claims for no run (tests, tools).
	by    int64
	now   time.Time
	lease time.Duration
	limit int
	// scope is the value of the table's scope column to claim from.
	scope any
	// among, for a table with groups, looks for heads among these keys only
	// (claimHeadsIn); nil finds every group's head.
	among []int64
}

// claimQuery moves the next attempt of up to c.limit due pending rows of l to
// the end of their lease, records the claiming run, counts the claim as a try
// and returns the columns in returning; with the query it gives its
// arguments. A row is due when its next attempt has come, or when the run
// holding its lease has ended: a dead run sends nothing, so waiting out its
// lease would only delay the alert. A live run's lease is never taken. Rows
// are claimed in due order (next attempt, then key); for a table with groups,
// only heads (claimHeadsIn, heads).
func (s *Store) claimQuery(l leased, c claim, returning string) (string, []any) {
	var claimedBy *int64
	if c.by != 0 {
		claimedBy = &c.by
	}
	args := []any{dbTime(c.now.Add(c.lease)), claimedBy}
	from, where := l.table+` d`, ""
	switch {
	case l.inOrder != "" && c.among != nil:
		// A head among the keys: no pending row of its group before it.
		if l.scope != "" {
			where = `d.` + l.scope + ` = ? AND `
			args = append(args, c.scope)
		}
		where += `d.` + l.key + ` IN (` + placeholders(1, len(c.among)) + `) AND NOT (d.` + l.inOrder + ` <> '' AND EXISTS (
        SELECT 1 FROM ` + l.table + ` e WHERE e.status = 'pending' AND e.` + l.inOrder + ` = d.` + l.inOrder +
			scopeMatch(l) + ` AND e.` + l.key + ` < d.` + l.key + `)) AND `
		args = append(args, anySlice(c.among)...)
	case l.inOrder != "":
		// Every head: the claim starts from them, and CROSS JOIN keeps
		// SQLite from walking the whole queue in due order instead,
		// probing each row against the heads.
		from = `(` + heads(l) + `) h CROSS JOIN ` + l.table + ` d`
		if l.scope != "" {
			for range headScopes {
				args = append(args, c.scope)
			}
		}
		where = `d.` + l.key + ` = h.` + l.key + ` AND `
	case l.scope != "":
		where = `d.` + l.scope + ` = ? AND `
		args = append(args, c.scope)
	}
	args = append(args, dbTime(c.now), c.limit)
	return s.q(`
UPDATE ` + l.table + ` SET next_attempt_at = ?, claimed_by = ?, tries = tries + 1
WHERE ` + l.key + ` IN (
    SELECT d.` + l.key + ` FROM ` + from + `
    WHERE ` + where + `d.status = 'pending' AND ` + due("d.") + `
    ORDER BY d.next_attempt_at, d.` + l.key + `
    LIMIT ?` + s.dialect.skipLocked + `
)
RETURNING ` + returning), args
}

// headsWindow, times the limit, is how many of the earliest due rows a claim
// of a table with groups first looks among for heads.
const headsWindow = 16

// claimHeadsIn claims for l, a table with groups, up to c.limit heads in due
// order and returns their keys. It looks first among the earliest due rows:
// with many groups in the queue (hundreds of meetings at once) the heads are
// there, and the look costs a few lookups; a short queue is all there. Only
// when those rows fill the window yet hold fewer heads than the limit (a few
// long meetings: a webinar's thousands of joins) does it find every group's
// head, at a cost that grows with the groups. Either way it claims the first
// heads in due order, as one query over every head would; looking back from
// every due row for a pending predecessor instead read the whole queue on
// each claim of a few long meetings.
func (s *Store) claimHeadsIn(ctx context.Context, l leased, c claim) ([]int64, error) {
	window := headsWindow * c.limit
	var early []int64
	query := `SELECT ` + l.key + ` FROM ` + l.table + ` WHERE status = 'pending'` + scopeFilter(l) + ` AND ` + due("") + `
ORDER BY next_attempt_at, ` + l.key + ` LIMIT ` + strconv.Itoa(window)
	args := []any{dbTime(c.now)}
	if l.scope != "" {
		args = []any{c.scope, dbTime(c.now)}
	}
	if err := s.db.SelectContext(ctx, &early, s.q(query), args...); err != nil {
		return nil, err
	}
	if len(early) == 0 {
		return nil, nil
	}
	c.among = early
	var keys []int64
	query, args = s.claimQuery(l, c, l.key)
	if err := s.db.SelectContext(ctx, &keys, query, args...); err != nil {
		return nil, err
	}
	if len(keys) == c.limit || len(early) < window {
		return keys, nil
	}
	c.among, c.limit = nil, c.limit-len(keys)
	var more []int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		more = nil
		if s.dialect.claimPlans != "" {
			if _, err := tx.ExecContext(ctx, s.dialect.claimPlans); err != nil {
				return err
			}
		}
		query, args := s.claimQuery(l, c, l.key)
		return tx.SelectContext(ctx, &more, query, args...)
	})
	if err != nil {
		// Give back what the first look claimed, or its meetings would
		// wait out the lease.
		if rerr := s.release(context.WithoutCancel(ctx), "release claims", l, keys, c.now); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	return append(keys, more...), nil
}

// due is the condition that a pending row, its columns prefixed by p, may be
// claimed at the time of its placeholder.
func due(p string) string {
	return `(` + p + `next_attempt_at <= ? OR ` + p + `claimed_by IN (SELECT id FROM uptime WHERE ended_at IS NOT NULL))`
}

// heads selects, as the column key, the head of each of inOrder's groups in
// the claim's scope (its earliest pending row) and every pending row of no
// group. The heads are found by skipping from group to group along the
// pending rows' index (a loose index scan: a recursive query, as neither
// database skips by itself), two lookups per group, so its cost grows with
// the groups, not the rows. It names the scope's value headScopes times.
func heads(l leased) string {
	pending := `SELECT %s FROM ` + l.table + ` WHERE status = 'pending'` + scopeFilter(l) + ` AND `
	// > '' rather than <> '': a range the index can start from, for
	// PostgreSQL's MIN to read one entry instead of every pending row.
	return fmt.Sprintf(`
        WITH RECURSIVE grp(g) AS (
            `+pending+l.inOrder+` > ''
            UNION ALL
            SELECT (`+pending+l.inOrder+` > grp.g) FROM grp WHERE grp.g IS NOT NULL)
        SELECT (`+pending+l.inOrder+` = grp.g) AS `+l.key+` FROM grp WHERE grp.g IS NOT NULL
        UNION ALL
        `+pending+l.inOrder+` = ''`,
		"MIN("+l.inOrder+")", "MIN("+l.inOrder+")", "MIN("+l.key+")", l.key)
}

// headScopes is how many times heads names the scope's value.
const headScopes = 4

// scopeFilter is the condition that keeps a look at l's pending rows within
// the claim's scope; its placeholder is the scope's value.
func scopeFilter(l leased) string {
	if l.scope == "" {
		return ""
	}
	return ` AND ` + l.scope + ` = ?`
}

// scopeMatch is the condition that keeps the look back from d for a pending
// predecessor e within d's scope.
func scopeMatch(l leased) string {
	if l.scope == "" {
		return ""
	}
	return ` AND e.` + l.scope + ` = d.` + l.scope
}

// markFailed records a failed try of the rows ids of l: due again at next, or
// dead. The claim goes: next is a backoff, which the claimer's end must not
// cut short.
func (s *Store) markFailed(ctx context.Context, what string, l leased, ids []int64, next time.Time, errText string, dead bool) error {
	status := OutboxPending
	if dead {
		status = OutboxDead
	}
	return s.updateIDs(ctx, what, `
UPDATE `+l.table+` SET status = ?, next_attempt_at = ?, last_error = ?, claimed_by = NULL
WHERE `+l.key+` IN (?)`, ids, status, dbTime(next), errText)
}

// release gives back the claimed rows ids of l, undoing the claim's try and
// the claim itself; they are due again at next. Rows no longer pending are
// left alone.
func (s *Store) release(ctx context.Context, what string, l leased, ids []int64, next time.Time) error {
	return s.updateIDs(ctx, what, `
UPDATE `+l.table+` SET next_attempt_at = ?, claimed_by = NULL, tries = CASE WHEN tries > 0 THEN tries - 1 ELSE 0 END
WHERE status = 'pending' AND `+l.key+` IN (?)`, ids, dbTime(next))
}
