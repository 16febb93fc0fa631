// Package logonce remembers which messages were logged, so a mistake that
// repeats on every request is logged once (at its level) and then quietly:
// the root package's wiring diagnostics and the webhook handler's
// verification failures use it.
package logonce

import "sync"

// Set is the set of keys already logged. The zero value is empty and ready;
// it is safe for concurrent use.
type Set[K comparable] struct {
	seen sync.Map
}

// First reports whether key is new to the set, and adds it: true exactly once
// per key, however many goroutines ask.
func (s *Set[K]) First(key K) bool {
	_, seen := s.seen.LoadOrStore(key, struct{}{})
	return !seen
}
