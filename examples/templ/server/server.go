// Package server is the templ example: a stdlib mux, pages written in templ
// with the kit's components (package prefinerytempl), scs sessions, login
// and logout.
package server

import (
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerytempl"
)

//go:generate go run github.com/a-h/templ/cmd/templ@v0.3.1100 generate

// New wires scs, the kit and the routes; widgetURL is the loader.
func New(secret prefinery.Secret, widgetURL string) (http.Handler, error) {
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sessions, WidgetURL: widgetURL})
	if err != nil {
		return nil, err
	}
	p := prefinerytempl.For(kit)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := kit.Identity(r.Context())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page(p, id.Identifier).Render(r.Context(), w); err != nil {
			http.Error(w, "internal server error", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// A real app checks a password and passes the address its user record holds.
		if err := kit.Login(r.Context(), r.PostFormValue("email")); err != nil {
			http.Error(w, "cannot sign in with that address", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Logout(r.Context()); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.Handle("GET /prefinery/identity", kit.IdentityHandler())
	return sessions.LoadAndSave(kit.Middleware(mux)), nil
}
