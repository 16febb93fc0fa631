// Package app is the demo application of examples/basic: a small site with a
// login form, an account page that renders Prefinery's embed snippet and
// authenticateUser call through the kit's template helpers, and a single-page
// view that uses the identity endpoint. The e2e and load tests drive it too.
package app

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/standin"
	"github.com/prefinerykit/prefinery/webhook"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DemoWebhookSecret is public and for the demo only: the stand-in signs its
// test deliveries with it.
const DemoWebhookSecret = "DEMO-ONLY-webhook-secret-prefinery-kit"

// StandInPath is the loader of the offline stand-in for Prefinery's widget.
const StandInPath = standin.WidgetURL

// Options configures the demo app.
type Options struct {
	Secret     prefinery.Secret    // the Identity Verification Secret (required)
	ProjectKey string              // Prefinery project key; "" loads the offline stand-in
	Sessions   *scs.SessionManager // session manager; nil means NewSessions(nil): memstore
	Logger     *slog.Logger        // nil means slog.Default()

	// WebhookSecret is the webhook signing secret; zero means the public
	// DemoWebhookSecret, with which the stand-in's button can sign test
	// deliveries.
	WebhookSecret prefinery.Secret

	// MaxIdentifierLength is passed to the kit (0: the kit's default, 320 bytes).
	MaxIdentifierLength int

	// WithoutKitMiddleware leaves kit.Middleware out of the chain, so no page
	// knows the signed-in user for Prefinery (no authenticateUser call). It
	// exists to measure the kit's cost: the same app with and without it.
	WithoutKitMiddleware bool
}

// App is the assembled demo.
type App struct {
	Handler  http.Handler        // the whole site, with sessions, CSRF protection and CSP
	Kit      *prefinery.Kit      // the kit the site uses
	Sessions *scs.SessionManager // the session manager behind it
	StandIn  *standin.Widget     // the offline stand-in the pages load; nil with the real widget
}

type nonceKey struct{}

// sessionKey is where the demo keeps the signed-in user's email; the kit
// reads the same key.
const sessionKey = "userEmail"

// New builds the demo app.
func New(opts Options) (*App, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	sessions := opts.Sessions
	if sessions == nil {
		sessions = NewSessions(nil)
	}

	cfg := prefinery.Config{
		Secret:     opts.Secret,
		Sessions:   sessions,
		SessionKey: sessionKey,
		Nonce: func(r *http.Request) string {
			n, _ := r.Context().Value(nonceKey{}).(string)
			return n
		},
		Logger:              logger,
		MaxIdentifierLength: opts.MaxIdentifierLength,
	}
	var widget *standin.Widget
	if opts.ProjectKey == "" {
		widget = standin.New()
		widget.VerifyWith(opts.Secret) // the panel says whether each call's signature verifies
		cfg.WidgetURL = StandInPath
	} else {
		cfg.ProjectKey = opts.ProjectKey
	}
	kit, err := prefinery.New(cfg)
	if err != nil {
		return nil, err
	}
	sessions.ErrorFunc = kit.SessionErrorFunc

	pages, err := parsePages(kit)
	if err != nil {
		return nil, err
	}
	s := &site{kit: kit, sessions: sessions, pages: pages, standIn: widget != nil, log: logger, events: &eventLog{}}
	webhookSecret, demoWebhookSecret := opts.WebhookSecret, false
	if webhookSecret == (prefinery.Secret{}) {
		if webhookSecret, err = prefinery.NewSecret(DemoWebhookSecret); err != nil {
			return nil, err
		}
		demoWebhookSecret = true
	}
	webhooks, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{webhookSecret}, Handle: s.events.add, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	if widget != nil && demoWebhookSecret {
		widget.SendWebhooks(webhooks, webhookSecret) // the button delivers to this handler, in-process
	}

	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /account", s.account)
	mux.HandleFunc("GET /spa", s.spa)
	mux.HandleFunc("GET /webhooks", s.webhooksPage)
	mux.Handle("POST /webhooks/prefinery", webhooks)
	mux.Handle("/prefinery/identity", kit.IdentityHandler())
	if widget != nil {
		mux.Handle(standin.Path, widget) // development only: the offline widget
	}

	csrf := http.NewCrossOriginProtection() // refuses cross-origin POSTs (login, logout)
	chain := alice.New(withCSP, csrf.Handler, sessions.LoadAndSave)
	if !opts.WithoutKitMiddleware {
		chain = chain.Append(kit.Middleware)
	}
	return &App{Handler: chain.Then(mux), Kit: kit, Sessions: sessions, StandIn: widget}, nil
}

// withCSP gives every request a fresh nonce and a strict script policy: only
// scripts carrying the nonce run (and, for the real widget, what they load).
func withCSP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [18]byte
		_, _ = rand.Read(b[:])
		nonce := base64.RawURLEncoding.EncodeToString(b[:]) // URL alphabet: no + or / to entity-escape
		w.Header().Set("Content-Security-Policy",
			"script-src 'nonce-"+nonce+"' 'strict-dynamic'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r.WithContext(contextWithNonce(r, nonce)))
	})
}

// site holds the handlers.
type site struct {
	kit      *prefinery.Kit
	sessions *scs.SessionManager
	pages    map[string]*template.Template
	standIn  bool
	log      *slog.Logger
	events   *eventLog
}

// pageData is what every template receives.
type pageData struct {
	Title    string
	Request  *http.Request
	User     string // the signed-in identifier, "" when signed out
	StandIn  bool
	Error    string
	Email    string // the login form's last input
	Embedded bool   // the layout renders the full embed snippet
	Events   []string
}

// data is the page data common to every page. The signed-in user is the
// app's own business (its session); the kit reads the same key.
func (s *site) data(r *http.Request, title string) pageData {
	user := s.sessions.GetString(r.Context(), sessionKey)
	return pageData{Title: title, Request: r, User: user, StandIn: s.standIn, Embedded: true}
}

func (s *site) render(w http.ResponseWriter, status int, page string, data pageData) {
	var b strings.Builder
	if err := s.pages[page].ExecuteTemplate(&b, "layout", data); err != nil {
		s.log.Error("demo: rendering failed", "page", page, "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (s *site) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "home", s.data(r, "Home"))
}

func (s *site) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", s.data(r, "Sign in"))
}

func (s *site) login(w http.ResponseWriter, r *http.Request) {
	// The demo has no password database: any address signs in. A real app
	// checks credentials here, then calls Login with the identifier exactly
	// as it is stored at Prefinery.
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := s.kit.Login(r.Context(), email); err != nil {
		d := s.data(r, "Sign in")
		d.Email = email
		d.Error = "That address cannot be used."
		status := http.StatusBadRequest
		if !errors.Is(err, prefinery.ErrInvalidIdentifier) {
			s.log.Error("demo: login failed", "error", err)
			d.Error, status = "Signing in failed; try again.", http.StatusInternalServerError
		}
		s.render(w, status, "login", d)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *site) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.kit.Logout(r.Context()); err != nil {
		s.log.Error("demo: logout failed", "error", err)
		http.Error(w, "logout failed", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *site) account(w http.ResponseWriter, r *http.Request) {
	d := s.data(r, "Your account")
	if d.User == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "account", d)
}

func (s *site) webhooksPage(w http.ResponseWriter, r *http.Request) {
	d := s.data(r, "Webhooks")
	d.Events = s.events.list()
	s.render(w, http.StatusOK, "webhooks", d)
}

func (s *site) spa(w http.ResponseWriter, r *http.Request) {
	d := s.data(r, "Single-page app")
	d.Embedded = false // the page fetches /prefinery/identity itself
	s.render(w, http.StatusOK, "spa", d)
}

// parsePages parses the layout with each page's content template.
func parsePages(kit *prefinery.Kit) (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"home", "login", "account", "spa", "webhooks"} {
		t, err := template.New(name).Funcs(kit.FuncMap()).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}
