package redisreplay_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/redisreplay"
	"github.com/prefinerykit/prefinery/webhook"
)

// Every instance of the app builds its webhook handler on the same Redis, so
// each delivery is processed by one of them. The pool is the kind scs's
// redisstore takes, with the two settings the package doc recommends. This
// example needs a Redis server, so it has no output to check: it is
// compiled, not run (the package's tests run the store against a real
// redis-server).
func ExampleNew() {
	pool := &redis.Pool{
		MaxIdle:     10,
		IdleTimeout: 4 * time.Minute, // below the server's timeout
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialContext(ctx, "tcp", "localhost:6379")
		},
		TestOnBorrow: func(c redis.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < 5*time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
	defer pool.Close()

	signing, err := prefinery.SecretFromEnv("PREFINERY_WEBHOOK_SECRET")
	if err != nil {
		log.Fatal(err)
	}
	webhooks, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{signing},
		Handle: func(ctx context.Context, d webhook.Delivery) error {
			// Queue the work and return. Make it idempotent: a delivery
			// whose processed mark was lost is handled again.
			return nil
		},
		Replays: redisreplay.New(pool),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/prefinery", webhooks)
	log.Fatal(http.ListenAndServe(":8080", mux))
}
