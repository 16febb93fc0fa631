package webhook

import (
	"context"
	"sync"
	"time"
)

// ReplayStore remembers the deliveries a webhook handler accepted, so a
// duplicate or a captured replay is acknowledged without running the app's
// handler again. Implementations must be safe for concurrent use.
type ReplayStore interface {
	// Reserve records key for ttl and reports whether it was new; a key
	// already recorded (or reserved by a delivery in progress) is not.
	Reserve(ctx context.Context, key string, ttl time.Duration) (fresh bool, err error)
	// Release forgets key, so a delivery the app failed can be retried.
	Release(ctx context.Context, key string) error
}

// memoryReplays is the in-memory ReplayStore: keys with their expiry,
// expired ones dropped as new ones arrive.
type memoryReplays struct {
	mu     sync.Mutex
	keys   map[string]time.Time
	now    func() time.Time
	pruned time.Time // expired keys are dropped at most once a second
}

func newMemoryReplays() *memoryReplays {
	return &memoryReplays{keys: map[string]time.Time{}, now: time.Now}
}

func (m *memoryReplays) Reserve(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.pruned) > time.Second {
		m.pruned = now
		for k, expiry := range m.keys {
			if now.After(expiry) {
				delete(m.keys, k)
			}
		}
	}
	if expiry, ok := m.keys[key]; ok && now.Before(expiry) {
		return false, nil
	}
	m.keys[key] = now.Add(ttl)
	return true, nil
}

func (m *memoryReplays) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
	return nil
}
