// Command basic is the prefinery demo: run it with
//
//	go run ./examples/basic
//
// and open the URL it prints. Without PREFINERY_IDENTITY_SECRET it uses a
// built-in demo secret; without a project key it loads an offline stand-in for
// Prefinery's widget that shows every call on the page.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/examples/basic/app"
)

// demoSecret is public and for this demo only: Prefinery rejects its signatures.
const demoSecret = "DEMO-ONLY-secret-prefinery-kit-not-for-production"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("basic", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr(), "address to listen on (env PORT sets the port on 127.0.0.1)")
	redisURL := fs.String("redis", os.Getenv("REDIS_URL"), "keep sessions in Redis at `URL` (redis://127.0.0.1:6379/0; env REDIS_URL) so several instances share them; empty keeps them in memory")
	projectKey := fs.String("project-key", os.Getenv("PREFINERY_PROJECT_KEY"), "Prefinery project key for the real widget (env PREFINERY_PROJECT_KEY); empty loads the offline stand-in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	secret := demoSecret
	if _, set := os.LookupEnv("PREFINERY_IDENTITY_SECRET"); set {
		s, err := prefinery.SecretFromEnv("PREFINERY_IDENTITY_SECRET")
		if err != nil {
			return err
		}
		secret = s
	} else {
		logger.Warn("PREFINERY_IDENTITY_SECRET is not set: using the built-in DEMO secret, whose signatures Prefinery will reject")
	}

	opts := app.Options{Secret: secret, ProjectKey: *projectKey, Logger: logger}
	sessionsIn := "memory (one instance)"
	if *redisURL != "" {
		store, pool, err := app.RedisStore(*redisURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		opts.Sessions = app.NewSessions(store)
		sessionsIn = "Redis (shared by every instance using it)"
	}
	demo, err := app.New(opts)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           demo.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	widget := "Prefinery's widget for project " + *projectKey
	if demo.StandIn {
		widget = "the offline widget stand-in (set -project-key for the real one)"
	}
	fmt.Printf("prefinery demo: open http://%s/ (using %s; sessions in %s; Ctrl-C to stop)\n", ln.Addr(), widget, sessionsIn)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Println("prefinery demo: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// defaultAddr is 127.0.0.1:8080, or 127.0.0.1:$PORT when PORT is set.
func defaultAddr() string {
	if port := os.Getenv("PORT"); port != "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return "127.0.0.1:8080"
}
