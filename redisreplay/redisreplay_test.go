package redisreplay

import (
	"context"
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
	cmd       *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
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
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	r.start(bin)
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) start(bin string) {
	r.cmd = exec.Command(bin, "--port", r.port, "--bind", "127.0.0.1", "--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := redis.Dial("tcp", "127.0.0.1:"+r.port)
		if err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return
			}
		}
		require.True(r.t, time.Now().Before(deadline), "redis-server did not start")
		time.Sleep(20 * time.Millisecond)
	}
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
		return redis.Dial("tcp", "127.0.0.1:"+r.port, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(time.Second))
	}}
}

var _ webhook.ReplayStore = (*Store)(nil)

func TestReserveRelease(t *testing.T) {
	r := startRedis(t)
	pool := r.pool()
	defer pool.Close()
	s := New(pool)
	ctx := context.Background()
	fresh, err := s.Reserve(ctx, "k1", time.Minute)
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = s.Reserve(ctx, "k1", time.Minute)
	require.NoError(t, err)
	assert.False(t, fresh, "a replay is not fresh")
	require.NoError(t, s.Release(ctx, "k1"))
	fresh, err = s.Reserve(ctx, "k1", time.Minute)
	require.NoError(t, err)
	assert.True(t, fresh, "released: a retry is fresh again")
	fresh, err = s.Reserve(ctx, "short", 50*time.Millisecond)
	require.NoError(t, err)
	require.True(t, fresh)
	time.Sleep(120 * time.Millisecond)
	fresh, err = s.Reserve(ctx, "short", time.Minute)
	require.NoError(t, err)
	assert.True(t, fresh, "expired keys are gone")
}

// TestConcurrentReserves: two instances (pools) racing 1,000 reserves of one
// key: exactly one wins.
func TestConcurrentReserves(t *testing.T) {
	r := startRedis(t)
	a, b := r.pool(), r.pool()
	defer a.Close()
	defer b.Close()
	stores := []*Store{New(a), New(b)}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			fresh, err := stores[i%2].Reserve(context.Background(), "same-delivery", time.Minute)
			if assert.NoError(t, err) && fresh {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), wins.Load())
}

// TestRedisRestart: while Redis is down, Reserve fails (the handler answers
// 429, Prefinery retries) without a crash; after a restart an accepted key is
// still there, so a replay is not accepted twice.
func TestRedisRestart(t *testing.T) {
	r := startRedis(t)
	bin, _ := exec.LookPath("redis-server")
	pool := r.pool()
	defer pool.Close()
	s := New(pool)
	ctx := context.Background()
	fresh, err := s.Reserve(ctx, "accepted", time.Hour)
	require.NoError(t, err)
	require.True(t, fresh)
	r.stop()
	_, err = s.Reserve(ctx, "during-outage", time.Hour)
	assert.Error(t, err, "a store failure is an error, not a crash or a yes")
	r.start(bin)
	require.FileExists(t, filepath.Join(r.dir, "appendonlydir", "appendonly.aof.manifest"))
	fresh, err = s.Reserve(ctx, "accepted", time.Hour)
	require.NoError(t, err)
	assert.False(t, fresh, "the accepted delivery survived the restart")
}
