// Package redisreplay is a Redis-backed webhook.ReplayStore, for webhook
// handlers running as several instances: each delivery is processed by one of
// them, once; a copy that reaches another instance while it is processed is
// answered 429, and one whose processing failed is processed on the retry. It uses the same redigo pool as scs's redisstore:
//
//	webhooks, err := webhook.NewHandler(webhook.Config{
//		Handle:  handle,
//		Replays: redisreplay.New(pool),
//	})
//
// Keys expire on their own: a claim after its lease (so a claim whose release
// was lost to an outage becomes retryable), a processed delivery after its
// replay window. For a replay to stay refused across a Redis restart, run
// Redis with persistence (appendonly yes); while Redis is down, deliveries
// are answered 429 and Prefinery retries them.
package redisreplay

import (
	"context"
	"errors"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery/webhook"
)

// Store keeps delivery claims in Redis. It is safe for concurrent use.
type Store struct {
	pool   *redis.Pool
	prefix string
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
func (s *Store) Begin(ctx context.Context, key string, lease time.Duration) (webhook.Status, error) {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	reply, err := redis.String(redis.DoContext(conn, ctx, "SET", s.prefix+key, claimed, "NX", "PX", max(lease.Milliseconds(), 1)))
	switch {
	case err == nil && reply == "OK":
		return webhook.Unseen, nil
	case err != nil && !errors.Is(err, redis.ErrNil):
		return 0, err
	}
	value, err := redis.String(redis.DoContext(conn, ctx, "GET", s.prefix+key))
	switch {
	case errors.Is(err, redis.ErrNil):
		return webhook.InProgress, nil
	case err != nil:
		return 0, err
	case value == done:
		return webhook.Processed, nil
	}
	return webhook.InProgress, nil
}

// Finish records key as done for ttl, replacing the claim.
func (s *Store) Finish(ctx context.Context, key string, ttl time.Duration) error {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = redis.DoContext(conn, ctx, "SET", s.prefix+key, done, "PX", max(ttl.Milliseconds(), 1))
	return err
}

// releaseClaim deletes a key only while it is a claim: a release never
// forgets a delivery that was processed.
var releaseClaim = redis.NewScript(1, `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Release drops the claim on key, so a delivery the app failed can be
// processed when Prefinery retries. If Redis is down, the claim lapses with
// its lease instead.
func (s *Store) Release(ctx context.Context, key string) error {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = releaseClaim.DoContext(ctx, conn, s.prefix+key, claimed)
	return err
}
