// Package app is the example app of package before after adopting the kit:
// Prefinery's snippet goes into every page (AutoInsert), signed for the user
// whose int id is in the session (Config.User), under the app's own CSP,
// which the kit amends. TestAdoption counts the changed lines.
package app

import (
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery"
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
	kit            *prefinery.Kit
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
