package webhook

import (
	"context"
	"sync"
	"time"
)

// Status is what a ReplayStore knows of a delivery.
type Status int

const (
	// Unseen: no delivery holds the key or completed it; the caller of
	// Begin now holds it, for the lease.
	Unseen Status = iota
	// InProgress: another delivery of it is being processed (answered 429,
	// so Prefinery tries again later).
	InProgress
	// Processed: a delivery of it was processed (answered 200 without
	// processing it again).
	Processed
)

// ReplayStore remembers the deliveries a webhook handler is processing and
// has processed, so a duplicate, a copy that reaches another instance, or a
// captured replay is never processed twice, and a delivery whose processing
// failed is processed again when Prefinery retries. Implementations must be
// safe for concurrent use; github.com/prefinerykit/prefinery/redisreplay is
// one for several instances.
type ReplayStore interface {
	// Begin claims key for a delivery about to be processed, for lease
	// (after which the claim lapses, so a claim whose release was lost
	// becomes retryable); it reports what it found.
	Begin(ctx context.Context, key string, lease time.Duration) (Status, error)
	// Finish records key as processed, for ttl, replacing the claim.
	Finish(ctx context.Context, key string, ttl time.Duration) error
	// Release drops the claim on key, so the delivery can be processed again.
	Release(ctx context.Context, key string) error
}

// AtomicStore is a ReplayStore that processes a delivery in one transaction
// of the app's own database: the claim, Handle's writes and the processed
// mark commit together or not at all, so a crash at any point neither loses
// nor doubles an effect written through that transaction. The handler calls
// Process instead of Begin, Finish and Release;
// github.com/prefinerykit/prefinery/sqlreplay is one.
type AtomicStore interface {
	ReplayStore
	// Process claims key in a new transaction. If a copy holds it, or it
	// was processed, Process reports InProgress or Processed without calling
	// handle. Otherwise it calls handle with a context that carries the
	// transaction, commits if handle returned nil, rolls back if not, and
	// reports Unseen with handle's or the commit's error. The transaction is
	// rolled back when ctx is done (Budget), whatever handle does.
	Process(ctx context.Context, key string, handle func(context.Context) error) (Status, error)
}

// memoryReplays is the in-memory ReplayStore: keys with their state and
// expiry, expired ones dropped as new ones arrive.
type memoryReplays struct {
	mu     sync.Mutex
	keys   map[string]memoryEntry
	pruned time.Time // expired keys are dropped at most once a second
}

type memoryEntry struct {
	processed bool
	expiry    time.Time
}

func newMemoryReplays() *memoryReplays { return &memoryReplays{keys: map[string]memoryEntry{}} }

func (m *memoryReplays) Begin(_ context.Context, key string, lease time.Duration) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if now.Sub(m.pruned) > time.Second {
		m.pruned = now
		for k, e := range m.keys {
			if now.After(e.expiry) {
				delete(m.keys, k)
			}
		}
	}
	if e, ok := m.keys[key]; ok && now.Before(e.expiry) {
		if e.processed {
			return Processed, nil
		}
		return InProgress, nil
	}
	m.keys[key] = memoryEntry{expiry: now.Add(lease)}
	return Unseen, nil
}

func (m *memoryReplays) Finish(_ context.Context, key string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[key] = memoryEntry{processed: true, expiry: time.Now().Add(ttl)}
	return nil
}

func (m *memoryReplays) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.keys[key]; ok && !e.processed {
		delete(m.keys, key)
	}
	return nil
}
