package store

import "context"

// LockStatementCache takes the lock that guards the prepared-statement cache,
// the one txStmt and prepareWanted take, and returns the function that
// releases it.
func LockStatementCache(s *Store) (unlock func()) {
	s.prepMu.Lock()
	return s.prepMu.Unlock
}

// PrepareCachedAgain marks every statement already prepared for the pool as
// met in a transaction and runs prepareWanted, which prepares each once more
// and closes the spare. That is what happens when two transactions meet a new
// statement at the same time and both prepare it.
func PrepareCachedAgain(ctx context.Context, s *Store) {
	s.prepMu.Lock()
	for q := range s.prepared {
		s.wanted[q] = struct{}{}
	}
	s.prepMu.Unlock()
	s.prepareWanted(ctx)
}
