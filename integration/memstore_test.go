package integration

import (
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/stretchr/testify/assert"
)

// TestNoCrossTalkMemstore is the multi-instance load test on a shared
// in-process store, scaled to run in the ordinary go test (and with -race).
func TestNoCrossTalkMemstore(t *testing.T) {
	store := memstore.NewWithCleanupInterval(0)
	c := newCluster(t, 2, store)
	transport := newTransport()
	defer transport.CloseIdleConnections()
	users := c.newUsers(40, transport)
	total := 1200
	if testing.Short() {
		total = 300
	}
	rep := c.load(users, 16, total, 20*time.Second)
	t.Log("memstore, 2 instances, 40 users, 16 workers:", rep)
	assert.Equal(t, total, rep.requests, "every request ran within the time bound")
	assert.Zero(t, rep.by5xx)
	assert.Zero(t, rep.other)
	assert.Empty(t, rep.wrong)
}
