package app

import (
	"context"
	"sync"

	"github.com/prefinerykit/prefinery/webhook"
)

// eventLog keeps the last webhook deliveries the demo received, to show them.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

// add is the webhook handler's Handle: it records the body and returns at
// once (a real app queues the work, ordered by d.SentAt, and processes it
// idempotently: Prefinery may send the same event again, signed anew).
func (l *eventLog) add(_ context.Context, d webhook.Delivery) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, string(d.Body))
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
