package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
)

// redisStore connects scs's Redis store to the server at rawURL
// (redis://[:password@]host:port/db). Several app instances sharing one Redis
// share their users' sessions. Close the returned pool on shutdown.
func redisStore(rawURL string) (scs.Store, *redis.Pool, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, nil, fmt.Errorf("redis URL %q: want redis://host:port/db", redactURL(rawURL))
	}
	pool := &redis.Pool{
		MaxIdle:     64,
		IdleTimeout: 4 * time.Minute,
		Dial: func() (redis.Conn, error) {
			return redis.DialURL(rawURL,
				redis.DialConnectTimeout(2*time.Second),
				redis.DialReadTimeout(2*time.Second),
				redis.DialWriteTimeout(2*time.Second))
		},
		// A connection idle for a while is checked before use, so a restarted
		// Redis costs one failed request per stale connection at most.
		TestOnBorrow: func(c redis.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < 10*time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
	conn := pool.Get()
	defer conn.Close()
	if _, err := conn.Do("PING"); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("redis at %s: %w", redactURL(rawURL), err)
	}
	return redisstore.New(pool), pool, nil
}

// redactURL hides a password in a Redis URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
