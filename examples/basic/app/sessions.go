package app

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
)

// NewSessions returns the demo's session manager on store (nil: scs's
// memstore). Every instance of the app must use the same settings.
func NewSessions(store scs.Store) *scs.SessionManager {
	sessions := scs.New()
	if store != nil {
		sessions.Store = store
	}
	sessions.Lifetime = 12 * time.Hour
	sessions.Cookie.HttpOnly = true
	sessions.Cookie.SameSite = http.SameSiteLaxMode
	// Cookie.Secure stays false so the demo works on http://127.0.0.1; set it
	// to true in production (HTTPS).
	return sessions
}

// RedisStore connects scs's Redis store to the server at rawURL
// (redis://[:password@]host:port/db). Several app instances sharing one Redis
// share their users' sessions. Close the returned pool on shutdown.
func RedisStore(rawURL string) (scs.Store, *redis.Pool, error) {
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
