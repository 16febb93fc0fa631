// Command web runs the example app, adopted:
//
//	cd examples/letsgo
//	PREFINERY_IDENTITY_SECRET=… PREFINERY_PROJECT_KEY=ab12cd34 go run ./cmd/web
//
// Sign in as alice@example.com (or Bob@Example.com) with password pa55word.
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prefinerykit/prefinery/examples/letsgo/app"
	"github.com/prefinerykit/prefinery/examples/letsgo/models"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4000", "HTTP network address")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	handler, err := app.New(app.Config{Users: models.NewUserModel(
		models.User{Name: "Alice", Email: "alice@example.com", EmailConfirmed: true},
		models.User{Name: "Bob", Email: "Bob@Example.com", EmailConfirmed: true},
	), Logger: logger})
	if err != nil {
		logger.Error(err.Error())
		os.Exit(1)
	}
	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
	logger.Info("starting server", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil {
		logger.Error(err.Error())
		os.Exit(1)
	}
}
