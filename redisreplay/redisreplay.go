// Package redisreplay is a Redis-backed webhook.ReplayStore, for webhook
// handlers running as several instances: each delivery is processed by one of
// them; a copy that reaches another instance while it is processed is
// answered 429, and one whose processing failed is processed on the retry. It
// uses the same redigo pool as scs's redisstore: [New] makes the store for
// the Replays field of [webhook.Config], and its example wires a handler to
// Redis, as code the compiler checks.
//
// # What it guarantees
//
// At least once, not exactly once. A delivery is recorded as processed after
// Handle returned nil, in a second step: if the process dies, or Redis stays
// unreachable, between Handle's success and that record, the claim lapses
// and Prefinery's retry runs Handle again. Make Handle idempotent, or use the
// SQL store (sqlreplay), which commits the claim, the app's writes and the
// processed mark in one transaction.
//
// # What it needs from Redis
//
// Persistence (appendonly yes), so a processed delivery stays refused across
// a restart. No eviction (maxmemory-policy noeviction, or an instance of its
// own): every key it writes expires on its own, so under memory pressure
// volatile-lru and the allkeys-* policies, the defaults of Google
// Memorystore and AWS ElastiCache, may evict a processed mark, and a
// duplicate then runs Handle again. The store reads the policy once (CONFIG
// GET) and logs a warning through slog.Default if it evicts, or if the
// server refuses to say (managed Redis often disables CONFIG). scs's
// redisstore keeps sessions, and the prefinery kit its replaced-session
// records, under expiring keys too: the same policy protects them.
//
// # What it needs from the pool
//
// A Dial (or DialContext) function, which it also calls directly: a call
// that fails at the connection level (a pooled connection opened before
// Redis restarted, a reset) is tried once more on a connection dialed for
// the purpose, since each call is safe to repeat; one that Redis answers
// LOADING (reading its append-only file after a restart) is tried again
// until its context ends. A TestOnBorrow that PINGs connections idle for
// more than a few seconds spares the first retry, and an IdleTimeout below
// the server's timeout keeps the pool from handing out connections Redis
// already closed; neither is required. While Redis is down, deliveries are
// answered 429 and Prefinery retries them.
package redisreplay

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery/webhook"
)

// Store keeps delivery claims in Redis. It is safe for concurrent use.
type Store struct {
	pool   *redis.Pool
	prefix string

	// checkedPolicy is set once the server's eviction policy was read (or
	// refused); until then a Begin that claims a key tries, unless another
	// is trying (checking).
	checking      sync.Mutex
	checkedPolicy atomic.Bool
	logger        *slog.Logger // nil: slog.Default(); set by tests
}

// New returns a Store on pool, keys prefixed "prefinery:webhook:".
func New(pool *redis.Pool) *Store { return &Store{pool: pool, prefix: "prefinery:webhook:"} }

// The values a key holds: claimed by a delivery being processed, or done.
const (
	claimed = "claimed"
	done    = "done"
)

// Begin claims key for lease with SET NX PX; if the key is there, it reports
// whether it is claimed (InProgress) or done (Processed). A claim that ends
// between the two calls reads as InProgress: Prefinery tries again later.
// A claim made by a first try whose answer was lost reads as InProgress on
// the retry, and lapses with its lease: never a double, at worst a delay.
func (s *Store) Begin(ctx context.Context, key string, lease time.Duration) (webhook.Status, error) {
	var status webhook.Status
	err := s.do(ctx, func(conn redis.Conn) error {
		reply, err := redis.String(redis.DoContext(conn, ctx, "SET", s.prefix+key, claimed, "NX", "PX", max(lease.Milliseconds(), 1)))
		switch {
		case err == nil && reply == "OK":
			status = webhook.Unseen
			s.checkPolicy(ctx, conn)
			return nil
		case err != nil && !errors.Is(err, redis.ErrNil):
			return err
		}
		value, err := redis.String(redis.DoContext(conn, ctx, "GET", s.prefix+key))
		switch {
		case errors.Is(err, redis.ErrNil):
			status = webhook.InProgress
		case err != nil:
			return err
		case value == done:
			status = webhook.Processed
		default:
			status = webhook.InProgress
		}
		return nil
	})
	return status, err
}

// Finish records key as done for ttl, replacing the claim.
func (s *Store) Finish(ctx context.Context, key string, ttl time.Duration) error {
	return s.do(ctx, func(conn redis.Conn) error {
		_, err := redis.DoContext(conn, ctx, "SET", s.prefix+key, done, "PX", max(ttl.Milliseconds(), 1))
		return err
	})
}

// releaseClaim deletes a key only while it is a claim: a release never
// forgets a delivery that was processed.
var releaseClaim = redis.NewScript(1, `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Release drops the claim on key, so a delivery the app failed can be
// processed when Prefinery retries. If Redis is down, the claim lapses with
// its lease instead.
func (s *Store) Release(ctx context.Context, key string) error {
	return s.do(ctx, func(conn redis.Conn) error {
		_, err := releaseClaim.DoContext(ctx, conn, s.prefix+key, claimed)
		return err
	})
}

// do runs call on a pooled connection and, if that fails at the connection
// level while ctx is live, once more on a connection dialed for it: every
// call of the Store is safe to repeat, and after a Redis restart the pool's
// idle connections are all closed by the server. A reply that is an error
// (redis.Error) is Redis's answer and is not retried.
func (s *Store) do(ctx context.Context, call func(redis.Conn) error) error {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return err // the pool could not dial either, or ctx is done
	}
	err = whileLoading(ctx, conn, call)
	conn.Close() // a connection that failed is dropped, not pooled
	if !connectionLevel(ctx, err) {
		return err
	}
	fresh, dialErr := s.dial(ctx)
	if dialErr != nil {
		return err // the first failure says more than the dial's
	}
	defer fresh.Close()
	return whileLoading(ctx, fresh, call)
}

// loadingPause is how long a call waits before trying again while Redis
// answers LOADING; a variable only so tests can shorten it.
var loadingPause = 100 * time.Millisecond

// whileLoading runs call, and again while Redis answers LOADING (it
// restarted and is reading its append-only file: it ran nothing), until ctx
// is done.
func whileLoading(ctx context.Context, conn redis.Conn, call func(redis.Conn) error) error {
	for {
		err := call(conn)
		var reply redis.Error
		if !errors.As(err, &reply) || !strings.HasPrefix(string(reply), "LOADING") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(loadingPause):
		}
	}
}

// dial opens a connection with the pool's own dial function (its address,
// AUTH and SELECT), outside the pool.
func (s *Store) dial(ctx context.Context) (redis.Conn, error) {
	switch {
	case s.pool.DialContext != nil:
		return s.pool.DialContext(ctx)
	case s.pool.Dial != nil:
		return s.pool.Dial()
	}
	return nil, errors.New("redisreplay: the redis.Pool has neither Dial nor DialContext")
}

// connectionLevel reports whether err is a failure of the connection (worth
// one try on a fresh one) rather than Redis's answer or the caller giving up.
func connectionLevel(ctx context.Context, err error) bool {
	var reply redis.Error
	switch {
	case err == nil, ctx.Err() != nil, errors.As(err, &reply), errors.Is(err, redis.ErrNil),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, redis.ErrPoolExhausted):
		return false
	}
	return true
}

// checkPolicy reads the server's maxmemory-policy once per Store and warns
// if it may evict the store's keys, or if the server will not say. A
// connection failure leaves it for the next Begin.
func (s *Store) checkPolicy(ctx context.Context, conn redis.Conn) {
	if s.checkedPolicy.Load() || !s.checking.TryLock() {
		return
	}
	defer s.checking.Unlock()
	if s.checkedPolicy.Load() {
		return
	}
	logger := s.logger
	if logger == nil {
		logger = slog.Default()
	}
	values, err := redis.Strings(redis.DoContext(conn, ctx, "CONFIG", "GET", "maxmemory-policy"))
	var reply redis.Error
	switch {
	case errors.As(err, &reply) && strings.HasPrefix(string(reply), "LOADING"):
		return // ask again later
	case errors.As(err, &reply):
		s.checkedPolicy.Store(true)
		logger.Warn("redisreplay: could not read Redis's maxmemory-policy (CONFIG GET refused, as managed Redis often does); make sure it is noeviction, or give the webhook replay store a Redis of its own: an evicting policy drops processed deliveries under memory pressure and their duplicates are processed again",
			slog.Any("error", err))
	case err != nil:
		return
	case len(values) == 2 && values[1] != "noeviction":
		s.checkedPolicy.Store(true)
		logger.Warn("redisreplay: Redis's maxmemory-policy may evict the webhook replay store's keys (they all expire, so volatile-* policies pick them too): under memory pressure a processed delivery's mark can be evicted and a duplicate processed again; set maxmemory-policy noeviction, or give the store a Redis of its own",
			slog.String("maxmemory-policy", values[1]))
	default:
		s.checkedPolicy.Store(true)
	}
}
