package redisreplay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadingServer speaks just enough RESP to answer LOADING to the first
// loading commands it receives, as a restarted Redis does while it reads its
// append-only file, and then OK (and noeviction to CONFIG GET).
type loadingServer struct {
	ln      net.Listener
	mu      sync.Mutex
	loading int      // LOADING answers still to give
	seen    []string // the commands answered OK, by name
}

func startLoadingServer(t *testing.T, loading int) *loadingServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &loadingServer{ln: ln, loading: loading}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *loadingServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		s.mu.Lock()
		reply := "+OK\r\n"
		switch {
		case s.loading > 0:
			s.loading--
			reply = "-LOADING Redis is loading the dataset in memory\r\n"
		case strings.EqualFold(args[0], "CONFIG"):
			reply = "*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n"
		}
		if !strings.HasPrefix(reply, "-") {
			s.seen = append(s.seen, strings.ToUpper(args[0]))
		}
		s.mu.Unlock()
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("not a command: %q", line)
	}
	args := make([]string, n)
	for i := range args {
		if line, err = r.ReadString('\n'); err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, err
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

// TestLoadingAfterRestart: a Redis that restarted answers LOADING until it
// has read its append-only file; Finish (and Begin, Release) wait it out
// within their context rather than fail, and give up when it ends.
func TestLoadingAfterRestart(t *testing.T) {
	defer func(p time.Duration) { loadingPause = p }(loadingPause)
	loadingPause = 10 * time.Millisecond
	calls := []struct {
		name string
		call func(ctx context.Context, s *Store) error
		want string // the command that went through
	}{
		{name: "Finish", call: func(ctx context.Context, s *Store) error { return s.Finish(ctx, "k", time.Hour) }, want: "SET"},
		{name: "Begin", call: func(ctx context.Context, s *Store) error {
			st, err := s.Begin(ctx, "k", time.Minute)
			if err == nil && st != webhook.Unseen {
				return fmt.Errorf("status %d", st)
			}
			return err
		}, want: "SET"},
		{name: "Release", call: func(ctx context.Context, s *Store) error { return s.Release(ctx, "k") }, want: "EVALSHA"},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			srv := startLoadingServer(t, 5)
			pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.Dial("tcp", srv.ln.Addr().String()) }}
			defer pool.Close()
			require.NoError(t, tt.call(context.Background(), New(pool)), "waited out five LOADING answers")
			srv.mu.Lock()
			defer srv.mu.Unlock()
			require.NotEmpty(t, srv.seen)
			assert.Equal(t, tt.want, srv.seen[0])
		})
	}
	t.Run("gives up with its context", func(t *testing.T) {
		srv := startLoadingServer(t, 1<<30)
		pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.Dial("tcp", srv.ln.Addr().String()) }}
		defer pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := New(pool).Finish(ctx, "k", time.Hour)
		require.Error(t, err)
		assert.True(t, strings.Contains(err.Error(), "LOADING") || errors.Is(err, context.DeadlineExceeded), "got %v", err)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
}
