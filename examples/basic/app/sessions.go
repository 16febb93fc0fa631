package app

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
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
