// Package before is the example app as it was before adopting the kit: the
// shape the "Let's Go" book teaches (scs sessions, alice chains per route
// group, nosurf, httprouter, html/template, its own secureHeaders CSP, an int
// user id in the session). Package app is the same code after adoption; the
// test in package app counts the difference.
package before

import (
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery/examples/letsgo/models"
)

// Config is what the app's flags and environment give it.
type Config struct {
	Users  *models.UserModel
	Logger *slog.Logger
}

type application struct {
	logger         *slog.Logger
	users          *models.UserModel
	templateCache  map[string]*template.Template
	sessionManager *scs.SessionManager
}

// New builds the app's handler.
func New(cfg Config) (http.Handler, error) {
	logger := cfg.Logger
	templateCache, err := newTemplateCache()
	if err != nil {
		return nil, err
	}
	sessionManager := scs.New()
	sessionManager.Lifetime = 12 * time.Hour
	app := &application{
		logger:         logger,
		users:          cfg.Users,
		templateCache:  templateCache,
		sessionManager: sessionManager,
	}
	return app.routes(), nil
}
