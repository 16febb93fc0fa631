// Package redisreplay is a Redis-backed webhook.ReplayStore, for webhook
// handlers running as several instances: each delivery is processed by one of
// them, once. It uses the same redigo pool as scs's redisstore:
//
//	webhooks, err := webhook.NewHandler(webhook.Config{
//		Handle:  handle,
//		Replays: redisreplay.New(pool),
//	})
//
// Keys expire on their own (SET … NX PX). For a replay to stay refused across
// a Redis restart, run Redis with persistence (appendonly yes); while Redis is
// down, deliveries are answered 429 and Prefinery retries them.
package redisreplay

import (
	"context"
	"errors"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Store reserves delivery keys in Redis. It is safe for concurrent use.
type Store struct {
	pool   *redis.Pool
	prefix string
}

// New returns a Store on pool, keys prefixed "prefinery:webhook:".
func New(pool *redis.Pool) *Store { return &Store{pool: pool, prefix: "prefinery:webhook:"} }

// Reserve records key for ttl with SET NX and reports whether it was new.
func (s *Store) Reserve(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	reply, err := redis.String(redis.DoContext(conn, ctx, "SET", s.prefix+key, "1", "NX", "PX", max(ttl.Milliseconds(), 1)))
	if errors.Is(err, redis.ErrNil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return reply == "OK", nil
}

// Release deletes key, so a delivery the app failed can be retried.
func (s *Store) Release(ctx context.Context, key string) error {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = redis.DoContext(conn, ctx, "DEL", s.prefix+key)
	return err
}
