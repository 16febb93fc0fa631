package redisreplay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const hint = "apt-get install -y redis-server; .ci/run installs it"

// redisServer starts a redis-server of its own (with appendonly, so keys
// survive a restart) on a free loopback port, or skips.
type redisServer struct {
	t         *testing.T
	port, dir string
	args      []string // added to the command line, such as a maxmemory-policy
	cmd       *exec.Cmd
}

func startRedis(t *testing.T, args ...string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("PREFINERY_REQUIRE_REDIS") != "" {
			t.Fatal("redis-server not found: " + hint)
		}
		t.Skip("redis-server not found: " + hint)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	r := &redisServer{t: t, port: port, dir: t.TempDir(), args: args}
	r.start(bin)
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) start(bin string) { require.NoError(r.t, r.launch(bin)) }

// launch starts the server and waits until it answers PING; unlike start,
// it may run outside the test's goroutine (in a webhook's Handle).
func (r *redisServer) launch(bin string) error {
	args := append([]string{"--port", r.port, "--bind", "127.0.0.1", "--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""}, r.args...)
	r.cmd = exec.Command(bin, args...)
	if err := r.cmd.Start(); err != nil {
		return err
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := redis.Dial("tcp", "127.0.0.1:"+r.port)
		if err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return nil
			}
		}
	}
	return errors.New("redis-server did not start")
}

func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *redisServer) pool() *redis.Pool {
	return &redis.Pool{MaxIdle: 16, Dial: func() (redis.Conn, error) {
		return redis.Dial("tcp", "127.0.0.1:"+r.port, redis.DialConnectTimeout(5*time.Second), redis.DialReadTimeout(time.Second))
	}}
}

var _ webhook.ReplayStore = (*Store)(nil)

// TestClaimLifeCycle: a claim, a copy while it is held, a release (a
// failure) and a new claim, a finish, a replay; a claim lapses with its lease.
func TestClaimLifeCycle(t *testing.T) {
	r := startRedis(t)
	pool := r.pool()
	defer pool.Close()
	s := New(pool)
	ctx := context.Background()
	begin := func(key string, lease time.Duration) webhook.Status {
		t.Helper()
		st, err := s.Begin(ctx, key, lease)
		require.NoError(t, err)
		return st
	}
	assert.Equal(t, webhook.Unseen, begin("k1", time.Minute))
	assert.Equal(t, webhook.InProgress, begin("k1", time.Minute), "a copy while it is processed")
	require.NoError(t, s.Release(ctx, "k1"))
	assert.Equal(t, webhook.Unseen, begin("k1", time.Minute), "released after a failure: the retry processes it")
	require.NoError(t, s.Finish(ctx, "k1", time.Hour))
	assert.Equal(t, webhook.Processed, begin("k1", time.Minute), "a replay")
	require.NoError(t, s.Release(ctx, "k1"))
	assert.Equal(t, webhook.Processed, begin("k1", time.Minute), "a release never forgets a processed delivery")
	assert.Equal(t, webhook.Unseen, begin("short", 50*time.Millisecond))
	time.Sleep(120 * time.Millisecond)
	assert.Equal(t, webhook.Unseen, begin("short", time.Minute), "a claim lapses with its lease")
}

// TestConcurrentClaims: two instances (pools) racing 1,000 claims of one
// key: exactly one wins.
func TestConcurrentClaims(t *testing.T) {
	r := startRedis(t)
	a, b := r.pool(), r.pool()
	defer a.Close()
	defer b.Close()
	stores := []*Store{New(a), New(b)}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			st, err := stores[i%2].Begin(context.Background(), "same-delivery", time.Minute)
			if assert.NoError(t, err) && st == webhook.Unseen {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), wins.Load())
}

// TestRedisRestart: while Redis is down, Begin fails (the handler answers
// 429, Prefinery retries) and a failed delivery's release is lost, without a
// crash; after a restart (append-only file) a processed delivery is still
// processed, and the claim whose release was lost lapses with its lease, so
// the retry processes the delivery.
func TestRedisRestart(t *testing.T) {
	r := startRedis(t)
	bin, _ := exec.LookPath("redis-server")
	pool := r.pool()
	defer pool.Close()
	s := New(pool)
	ctx := context.Background()
	st, err := s.Begin(ctx, "accepted", time.Hour)
	require.NoError(t, err)
	require.Equal(t, webhook.Unseen, st)
	require.NoError(t, s.Finish(ctx, "accepted", time.Hour))
	st, err = s.Begin(ctx, "failing", 300*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, webhook.Unseen, st)
	r.stop()
	_, err = s.Begin(ctx, "during-outage", time.Hour)
	assert.Error(t, err, "a store failure is an error, not a crash or a yes")
	assert.Error(t, s.Release(ctx, "failing"), "the failed delivery's release is lost")
	r.start(bin)
	require.FileExists(t, filepath.Join(r.dir, "appendonlydir", "appendonly.aof.manifest"))
	st, err = s.Begin(ctx, "accepted", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, webhook.Processed, st, "the processed delivery survived the restart")
	time.Sleep(400 * time.Millisecond)
	st, err = s.Begin(ctx, "failing", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, webhook.Unseen, st, "the lost release's claim lapsed: the retry processes it")
}
