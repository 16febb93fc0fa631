package redisreplay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/testlog"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// textLogger is a text slog logger writing into logs (the module's shared
// goroutine-safe buffer): the tests read its level=WARN lines.
func textLogger(logs *testlog.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(logs, nil)) }

// post sends body with a given signature header, as a retry or a duplicate
// carries it, and returns the status.
func post(t *testing.T, url, body, header string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(webhook.Header, header)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// pingOnBorrow is the TestOnBorrow redigo's documentation shows, checking
// every borrowed connection.
func pingOnBorrow(c redis.Conn, _ time.Time) error {
	_, err := c.Do("PING")
	return err
}

// TestRestartWhileHandleRuns: Redis (appendonly yes) restarts while Handle
// runs; Handle succeeds, and Finish gets the pooled connection Begin used,
// which the restart closed. Finish must still record the delivery, so the
// duplicate sent after the claim's lease has lapsed is answered 200 without
// running Handle again. Controls: the same delivery without a restart, and
// with the restart over a pool that PINGs on borrow.
func TestRestartWhileHandleRuns(t *testing.T) {
	bin, _ := exec.LookPath("redis-server")
	tests := []struct {
		name         string
		restart      bool
		testOnBorrow bool
	}{
		{name: "restart, plain pool", restart: true},
		{name: "restart, pool that pings on borrow (control)", restart: true, testOnBorrow: true},
		{name: "no restart (control)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRedis(t)
			pool := r.pool()
			if tt.testOnBorrow {
				pool.TestOnBorrow = pingOnBorrow
			}
			defer pool.Close()
			var logs testlog.Buffer
			var processed atomic.Int64
			restartErr := make(chan error, 1)
			secret := mustSecret(t, newText)
			h, err := webhook.NewHandler(webhook.Config{
				Secrets: []prefinery.Secret{secret},
				Replays: shortLease{New(pool)},
				Logger:  textLogger(&logs),
				Handle: func(context.Context, webhook.Delivery) error {
					processed.Add(1)
					if tt.restart {
						r.stop()
						restartErr <- r.launch(bin)
					}
					return nil
				},
			})
			require.NoError(t, err)
			srv := httptest.NewServer(h)
			defer srv.Close()

			body := `{"event":"reward_earned","id":31}`
			header, err := webhook.Sign(secret, time.Now(), []byte(body))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, post(t, srv.URL, body, header))
			if tt.restart {
				require.NoError(t, <-restartErr)
			}
			time.Sleep(shortLeaseDuration + 300*time.Millisecond) // an unrecorded claim lapses
			assert.Equal(t, http.StatusOK, post(t, srv.URL, body, header), "the duplicate")
			assert.Equal(t, int64(1), processed.Load(), "processed once")
			assert.NotContains(t, logs.String(), "did not record")
		})
	}
}

// TestStaleConnections: a pool holding several idle connections that a
// Redis restart closed; each of the Store's calls succeeds on its first
// try, and the Store works on as before.
func TestStaleConnections(t *testing.T) {
	bin, _ := exec.LookPath("redis-server")
	tests := []struct {
		name string
		call func(s *Store) error
		want webhook.Status // the key claimed before the restart, afterwards
	}{
		{name: "Begin", call: func(s *Store) error {
			st, err := s.Begin(context.Background(), "new", time.Minute)
			if err == nil && st != webhook.Unseen {
				return fmt.Errorf("status %d, want Unseen", st)
			}
			return err
		}, want: webhook.InProgress},
		{name: "Finish", call: func(s *Store) error { return s.Finish(context.Background(), "claimed", time.Hour) }, want: webhook.Processed},
		{name: "Release", call: func(s *Store) error { return s.Release(context.Background(), "claimed") }, want: webhook.Unseen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRedis(t)
			pool := r.pool()
			defer pool.Close()
			s := New(pool)
			_, err := s.Begin(context.Background(), "claimed", time.Minute)
			require.NoError(t, err)
			conns := make([]redis.Conn, 4) // four connections in use at once, then idle in the pool
			for i := range conns {
				conns[i] = pool.Get()
				_, err := conns[i].Do("PING")
				require.NoError(t, err)
			}
			for _, c := range conns {
				c.Close()
			}
			require.Equal(t, 4, pool.IdleCount())
			r.stop()
			r.start(bin)
			assert.NoError(t, tt.call(s), "the first call after the restart")
			st, err := s.Begin(context.Background(), "claimed", time.Minute)
			require.NoError(t, err)
			assert.Equal(t, tt.want, st, "the call took effect")
		})
	}
}

// TestConnectionLevel: what is retried on a fresh connection (a broken
// connection) and what is not (Redis's own answer, the caller giving up).
func TestConnectionLevel(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{name: "EOF", err: io.EOF, want: true},
		{name: "reset", err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}, want: true},
		{name: "broken pipe", err: &net.OpError{Op: "write", Err: syscall.EPIPE}, want: true},
		{name: "no error", err: nil},
		{name: "a reply", err: redis.Error("LOADING Redis is loading the dataset in memory")},
		{name: "nil reply", err: redis.ErrNil},
		{name: "pool exhausted", err: redis.ErrPoolExhausted},
		{name: "deadline", err: context.DeadlineExceeded},
		{name: "EOF after the caller gave up", ctx: canceled, err: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			assert.Equal(t, tt.want, connectionLevel(ctx, tt.err))
		})
	}
}
