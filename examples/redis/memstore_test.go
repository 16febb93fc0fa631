package main

import (
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/stretchr/testify/assert"
)

// TestNoCrossTalkMemstore is the multi-instance load test on a shared
// in-process store, scaled to run in the ordinary go test (and with -race).
func TestNoCrossTalkMemstore(t *testing.T) {
	total := 1200
	if testing.Short() {
		total = 300
	}
	assertNoCrossTalk(t, "memstore", memstore.NewWithCleanupInterval(0), 40, 16, total, 20*time.Second)
}

// assertNoCrossTalk runs a load over two instances sharing store: every
// request must run within the time bound and carry exactly its own user's
// identity, with no 5xx.
func assertNoCrossTalk(t *testing.T, label string, store scs.Store, users, workers, total int, bound time.Duration) {
	t.Helper()
	c := newCluster(t, 2, store)
	transport := newTransport()
	defer transport.CloseIdleConnections()
	rep := c.load(c.newUsers(users, transport), workers, total, bound)
	t.Logf("%s, 2 instances, %d users, %d workers: %v", label, users, workers, rep)
	assert.Equal(t, total, rep.requests, "every request ran within the time bound")
	assert.Zero(t, rep.by5xx)
	assert.Zero(t, rep.other)
	assert.Empty(t, rep.wrong)
}
