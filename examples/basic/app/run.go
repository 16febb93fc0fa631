package app

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

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/standin"
)

// DemoSecret is public and for the demo only: Prefinery rejects its signatures.
const DemoSecret = standin.DemoSecret

// errSigningOracle is why the demo refuses a real secret by default.
var errSigningOracle = errors.New("PREFINERY_IDENTITY_SECRET is set, but this demo signs in any email typed into its " +
	"form (it has no passwords) and serves that email's signature: with a real project's secret, anyone who reaches it " +
	"can act as any of your users in Prefinery's widget. Unset PREFINERY_IDENTITY_SECRET to use the demo secret, or " +
	"pass -unsafe-sign-any-email if the project is a throwaway one")

// Sessions is how a demo command keeps sessions: the manager, a phrase for
// the start-up line, and what to close on shutdown.
type Sessions struct {
	Manager *scs.SessionManager
	Where   string
	Close   func()
}

// Run is a demo command: it adds the demo's flags to fs, parses args, builds
// the app on the sessions that open returns (called after parsing) and serves
// it until SIGINT or SIGTERM.
func Run(fs *flag.FlagSet, args []string, open func() (Sessions, error)) error {
	addr := fs.String("addr", defaultAddr(), "address to listen on (env PORT sets the port on 127.0.0.1)")
	projectKey := fs.String("project-key", os.Getenv("PREFINERY_PROJECT_KEY"), "Prefinery project key for the real widget (env PREFINERY_PROJECT_KEY); empty loads the offline stand-in")
	signAnyEmail := fs.Bool("unsafe-sign-any-email", false, "run with the secret in PREFINERY_IDENTITY_SECRET although the demo signs in ANY email typed into its form and serves its signature (only for a throwaway Prefinery project)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	secret, err := prefinery.NewSecret(DemoSecret)
	if err != nil {
		return err
	}
	if _, set := os.LookupEnv("PREFINERY_IDENTITY_SECRET"); set {
		if !*signAnyEmail {
			return errSigningOracle
		}
		if secret, err = prefinery.SecretFromEnv("PREFINERY_IDENTITY_SECRET"); err != nil {
			return err
		}
		logger.Warn("running with a real secret: this demo signs in any email typed into its form and serves that email's signature; never expose it to anyone else")
	} else {
		logger.Warn("PREFINERY_IDENTITY_SECRET is not set: using the built-in DEMO secret, whose signatures Prefinery will reject")
	}
	sessions, err := open()
	if err != nil {
		return err
	}
	if sessions.Close != nil {
		defer sessions.Close()
	}
	opts := Options{Secret: secret, ProjectKey: *projectKey, Logger: logger, Sessions: sessions.Manager}
	if _, set := os.LookupEnv("PREFINERY_WEBHOOK_SECRET"); set {
		if opts.WebhookSecret, err = prefinery.SecretFromEnv("PREFINERY_WEBHOOK_SECRET"); err != nil {
			return err
		}
	}
	demo, err := New(opts)
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
	if demo.StandIn != nil {
		widget = "the offline widget stand-in (set -project-key for the real one)"
	}
	fmt.Printf("prefinery demo: open http://%s/ (using %s; sessions in %s; Ctrl-C to stop)\n", ln.Addr(), widget, sessions.Where)

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
