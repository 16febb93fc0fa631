// Command redis is the prefinery demo with its sessions in Redis (scs's
// redisstore), so several instances serve the same signed-in users:
//
//	redis-server --port 6379 --save "" &
//	cd examples/redis
//	go run . -redis redis://127.0.0.1:6379/0 -addr 127.0.0.1:8080 &
//	go run . -redis redis://127.0.0.1:6379/0 -addr 127.0.0.1:8081 &
//
// Its tests run two instances on one Redis under load, and stop Redis
// mid-run (REDIS_URL; .ci/run starts a redis-server).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/prefinerykit/prefinery/examples/basic/app"
)

func main() {
	fs := flag.NewFlagSet("redis", flag.ContinueOnError)
	redisURL := fs.String("redis", os.Getenv("REDIS_URL"), "Redis `URL` for the sessions (redis://127.0.0.1:6379/0; env REDIS_URL)")
	err := app.Run(fs, os.Args[1:], func() (app.Sessions, error) {
		if *redisURL == "" {
			return app.Sessions{}, errors.New("set -redis URL (or REDIS_URL)")
		}
		store, pool, err := redisStore(*redisURL)
		if err != nil {
			return app.Sessions{}, err
		}
		return app.Sessions{
			Manager: app.NewSessions(store),
			Where:   "Redis (shared by every instance using it)",
			Close:   func() { pool.Close() },
		}, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "redis:", err)
		os.Exit(1)
	}
}
