package redisreplay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery/internal/testlog"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvictionPolicyWarning: the Store reads the server's maxmemory-policy
// once and warns, once, when it can evict the Store's keys (all of which
// expire) or when the server refuses CONFIG GET, as managed Redis often
// does; noeviction is silent.
func TestEvictionPolicyWarning(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantWarn string // "" for none
	}{
		{name: "volatile-lru (Memorystore, ElastiCache)", args: []string{"--maxmemory-policy", "volatile-lru"}, wantWarn: "maxmemory-policy=volatile-lru"},
		{name: "allkeys-lru", args: []string{"--maxmemory-policy", "allkeys-lru"}, wantWarn: "maxmemory-policy=allkeys-lru"},
		{name: "CONFIG refused", args: []string{"--rename-command", "CONFIG", ""}, wantWarn: "could not read Redis's maxmemory-policy"},
		{name: "noeviction (control)", args: []string{"--maxmemory-policy", "noeviction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRedis(t, tt.args...)
			pool := r.pool()
			defer pool.Close()
			var logs testlog.Buffer
			s := New(pool)
			s.logger = textLogger(&logs)
			for i := range 3 {
				st, err := s.Begin(context.Background(), fmt.Sprint("delivery-", i), time.Minute)
				require.NoError(t, err)
				require.Equal(t, webhook.Unseen, st)
			}
			if tt.wantWarn == "" {
				assert.Empty(t, logs.String())
				return
			}
			assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "warned once: %s", logs.String())
			assert.Contains(t, logs.String(), tt.wantWarn)
			assert.Contains(t, logs.String(), "noeviction", "the warning names the fix")
		})
	}
}

// TestEvictionPolicyUnreachable: a Store whose first Begin fails (Redis
// down) checks the policy on a later one.
func TestEvictionPolicyUnreachable(t *testing.T) {
	r := startRedis(t, "--maxmemory-policy", "volatile-lru")
	s := New(&redis.Pool{Dial: func() (redis.Conn, error) {
		return nil, &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	}})
	var logs testlog.Buffer
	s.logger = textLogger(&logs)
	_, err := s.Begin(context.Background(), "k", time.Minute)
	require.Error(t, err)
	assert.Empty(t, logs.String(), "nothing known, nothing said")
	s.pool = r.pool()
	defer s.pool.Close()
	_, err = s.Begin(context.Background(), "k", time.Minute)
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "maxmemory-policy=volatile-lru")
}

// TestEvictionDropsProcessedDeliveries shows what the warning is about, on a
// small Redis filled with other expiring keys (sessions, say): under
// volatile-lru, a processed delivery's mark is evicted and its duplicate
// reads as Unseen, to be processed again; under noeviction (the control)
// the mark stays, and a Redis that is full refuses new claims (the handler
// answers 429 and Prefinery retries) rather than doubling anything.
func TestEvictionDropsProcessedDeliveries(t *testing.T) {
	tests := []struct {
		policy      string
		wantEvicted bool
	}{
		{policy: "volatile-lru", wantEvicted: true},
		{policy: "noeviction"},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			r := startRedis(t, "--maxmemory", "4mb", "--maxmemory-policy", tt.policy, "--maxmemory-samples", "10", "--appendfsync", "no")
			pool := r.pool()
			defer pool.Close()
			s := New(pool)
			s.logger = slog.New(slog.DiscardHandler)
			ctx := context.Background()
			st, err := s.Begin(ctx, "processed", time.Minute)
			require.NoError(t, err)
			require.Equal(t, webhook.Unseen, st)
			require.NoError(t, s.Finish(ctx, "processed", time.Hour))
			time.Sleep(1500 * time.Millisecond) // Redis's LRU clock ticks in seconds: the mark is now the least recently used

			conn := pool.Get()
			defer conn.Close()
			value := strings.Repeat("x", 10<<10)
			refused := 0
			for i := range 1200 { // 12 MB of expiring keys into 4 MB
				if _, err := conn.Do("SET", fmt.Sprint("session:", i), value, "EX", 3600); err != nil {
					require.ErrorContains(t, err, "OOM")
					refused++
				}
			}
			st, err = s.Begin(ctx, "processed", time.Minute)
			if tt.wantEvicted {
				require.NoError(t, err)
				assert.Equal(t, webhook.Unseen, st, "the mark was evicted: the duplicate would be processed again")
				assert.Zero(t, refused)
				return
			}
			assert.Positive(t, refused, "noeviction refuses writes when full")
			assert.ErrorContains(t, err, "OOM", "a full Redis refuses the claim: answered 429, retried")
			mark, err := redis.String(conn.Do("GET", "prefinery:webhook:processed"))
			require.NoError(t, err)
			assert.Equal(t, done, mark, "the processed mark is kept")
		})
	}
}
