package app

import (
	"context"
	"sync"
)

// eventLog keeps the last webhook deliveries the demo received, to show them.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

// add is the webhook handler's Handle: it records the body and returns at
// once (a real app queues the work and processes it idempotently).
func (l *eventLog) add(_ context.Context, body []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, string(body))
	if len(l.events) > 20 {
		l.events = l.events[len(l.events)-20:]
	}
	return nil
}

// list returns the events, newest first.
func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.events))
	for i, e := range l.events {
		out[len(l.events)-1-i] = e
	}
	return out
}
