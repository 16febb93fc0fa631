package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerygin"
	"github.com/prefinerykit/prefinery/standin"
)

// The promise matrix's app: one small app, built for each column (a wiring
// mode × a router), serving the same pages. The pages are the ones a user of
// the README writes: a sign-in form, an account page with the embed in its
// <head>, a POST /logout, the identity endpoint, and htmx pages with hx-boost
// and Turbo Drive pages (the embed in <head> or in <body>). Beside the app's chain (not through the
// kit) it mounts the offline stand-in, htmx, and the control pages that show,
// in each column, what the browser does to a page the kit does not protect.

// mode is how the app tells the kit who is signed in.
type mode string

const (
	modeSCS   mode = "scs-memstore"      // Config.Sessions, scs's default memstore
	modeRedis mode = "scs-redis"         // Config.Sessions over Redis (redisstore)
	modeUser  mode = "config-user"       // Config.User reads the app's own auth cookie
	modeLogin mode = "login-per-request" // no Sessions, no User: kit.Login from the app's auth middleware
)

// router is how the app routes: the routers the README shows.
type router string

const (
	routerNetHTTP router = "net-http" // http.ServeMux
	routerChi     router = "chi"
	routerGin     router = "gin" // through prefinerygin
	routerEcho    router = "echo"
)

var (
	matrixModes   = []mode{modeSCS, modeRedis, modeUser, modeLogin}
	matrixRouters = []router{routerNetHTTP, routerChi, routerGin, routerEcho}
)

// column is one way to wire the kit.
type column struct {
	mode   mode
	router router
}

func (c column) String() string { return string(c.mode) + "/" + string(c.router) }

// appSessionKey is where the scs modes keep the signed-in user's email (the
// app's own key, as the README's Config.SessionKey example).
const appSessionKey = "userEmail"

// appCookie is the auth cookie of the modes without scs: a random token the
// app looks up server-side (HttpOnly, as auth cookies are).
const appCookie = "app_auth"

// pagePolicy is the app's own Content-Security-Policy (a secureHeaders-style
// middleware outside the kit) on its non-htmx pages: the kit adds its nonce.
const pagePolicy = "script-src 'self'; object-src 'none'; base-uri 'none'"

// matrixApp is one column's app on loopback.
type matrixApp struct {
	col      column
	kit      *prefinery.Kit
	sessions *scs.SessionManager // scs modes
	users    *authTokens         // the other modes
	widget   *standin.Widget     // what the pages' prefinery() calls reported
	srv      *httptest.Server
}

// authTokens is the app's own server-side auth: token → email.
type authTokens struct {
	mu     sync.Mutex
	emails map[string]string
}

func (u *authTokens) lookup(r *http.Request) string {
	c, err := r.Cookie(appCookie)
	if err != nil {
		return ""
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.emails[c.Value]
}

func newMatrixApp(col column, redisPool *redis.Pool, htmx, turbo []byte) (*matrixApp, error) {
	secret, err := prefinery.NewSecret(secretText)
	if err != nil {
		return nil, err
	}
	a := &matrixApp{col: col, widget: standin.New()}
	cfg := prefinery.Config{Secret: secret, WidgetURL: standin.WidgetURL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	switch col.mode {
	case modeSCS, modeRedis:
		a.sessions = scs.New()
		if col.mode == modeRedis {
			a.sessions.Store = redisstore.New(redisPool)
		}
		cfg.Sessions, cfg.SessionKey = a.sessions, appSessionKey
	case modeUser:
		a.users = &authTokens{emails: map[string]string{}}
		cfg.User = func(r *http.Request) (string, bool) {
			email := a.users.lookup(r)
			return email, email != ""
		}
	case modeLogin:
		a.users = &authTokens{emails: map[string]string{}}
	}
	if a.kit, err = prefinery.New(cfg); err != nil {
		return nil, err
	}
	var app http.Handler
	switch col.router {
	case routerNetHTTP:
		app = a.netHTTP()
	case routerChi:
		app = a.chi()
	case routerGin:
		app = a.gin()
	case routerEcho:
		app = a.echo()
	}
	top := http.NewServeMux()
	top.Handle(standin.Path, a.widget) // beside the chain: its reports are not the kit's responses
	top.HandleFunc("GET /htmx.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(htmx)
	})
	top.HandleFunc("GET /turbo.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(turbo)
	})
	top.Handle("/control/", a.withAppSession(a.controls()))
	top.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/hx/") && !strings.HasPrefix(r.URL.Path, "/tb/") { // htmx and Turbo run swapped scripts without the page's nonce
			w.Header().Set("Content-Security-Policy", pagePolicy)
		}
		app.ServeHTTP(w, r)
	}))
	a.srv = httptest.NewServer(top)
	return a, nil
}

// whoami is the signed-in user as the app itself knows it, without the kit.
func (a *matrixApp) whoami(r *http.Request) string {
	if a.sessions != nil {
		return a.sessions.GetString(r.Context(), appSessionKey)
	}
	return a.users.lookup(r)
}

// withAppSession loads the app's session for routes beside the kit.
func (a *matrixApp) withAppSession(h http.Handler) http.Handler {
	if a.sessions != nil {
		return a.sessions.LoadAndSave(h)
	}
	return h
}

// authMiddleware is the "Login per request" mode's auth middleware, chained
// inside kit.Middleware: it names the request's user with kit.Login.
func (a *matrixApp) authMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if email := a.users.lookup(r); email != "" {
			if err := a.kit.Login(r.Context(), email); err != nil {
				http.Error(w, "auth", http.StatusInternalServerError)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// middlewares is the chain each router installs, in order.
func (a *matrixApp) middlewares() []func(http.Handler) http.Handler {
	switch a.col.mode {
	case modeSCS, modeRedis:
		return []func(http.Handler) http.Handler{a.sessions.LoadAndSave, a.kit.Middleware}
	case modeLogin:
		return []func(http.Handler) http.Handler{a.kit.Middleware, a.authMiddleware}
	default:
		return []func(http.Handler) http.Handler{a.kit.Middleware}
	}
}

// --- pages -------------------------------------------------------------------

const matrixPages = `
{{define "login"}}<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title>{{prefineryEmbed .Request}}</head>
<body><form method="post" action="/login"><input type="hidden" name="next" value="{{.Next}}"><input id="email" name="email"><button id="login-submit">Sign in</button></form></body></html>{{end}}
{{define "welcome"}}<!doctype html><html><head><meta charset="utf-8"><title>Welcome</title>{{prefineryEmbed .Request}}</head>
<body><p id="welcome">A public page the app lets caches keep.</p></body></html>{{end}}
{{define "account"}}<!doctype html><html><head><meta charset="utf-8"><title>Account</title>{{prefineryEmbed .Request}}</head>
<body><p id="who">{{.Who}}</p><a id="away" href="/login?away=1">away</a>
<form method="post" action="/logout"><button id="logout">Sign out</button></form>
<form method="post" action="/logout-keep-cookie"><button id="logout-kept">Sign out (the session ends server-side)</button></form></body></html>{{end}}
{{define "hx-head"}}<!doctype html><html><head><meta charset="utf-8"><title>{{.Lib}}</title>{{if eq .Lib "hx"}}<script src="/htmx.min.js"></script>{{else}}<script src="/turbo.js"></script>{{end}}{{if eq .Place "head"}}{{prefineryEmbed .Request}}{{end}}{{if .HandSigned}}<script>window.handSigned = {{.HandSigned}};</script>{{end}}</head>
<body{{if eq .Lib "hx"}} hx-boost="true"{{end}}>{{end}}
{{define "hx-foot"}}{{if eq .Place "body"}}{{prefineryEmbed .Request}}{{end}}</body></html>{{end}}
{{define "hx-login"}}{{template "hx-head" .}}<p id="signed-out">signed out</p>
<form method="post" action="/login"><input type="hidden" name="next" value="/{{.Lib}}/{{.Place}}/page"><input id="email" name="email"><button id="login-submit">Sign in</button></form>{{template "hx-foot" .}}{{end}}
{{define "hx-page"}}{{template "hx-head" .}}<p id="who">{{.Who}}</p>{{with .HandSigned}}<p id="sig">{{.}}</p>{{end}}<a id="next" href="/{{.Lib}}/{{.Place}}/other">next</a>
<form method="post" action="/logout"><input type="hidden" name="next" value="/{{.Lib}}/{{.Back}}/login"><button id="logout">Sign out</button></form>{{template "hx-foot" .}}{{end}}
{{define "hx-other"}}{{template "hx-head" .}}<p id="other">other</p>
<form method="post" action="/logout"><input type="hidden" name="next" value="/{{.Lib}}/{{.Back}}/login"><button id="logout">Sign out</button></form>{{template "hx-foot" .}}{{end}}
{{define "control-account"}}<!doctype html><html><body><p id="who">{{.Who}}</p>{{with .HandSigned}}<p id="sig">{{.}}</p>{{end}}</body></html>{{end}}
`

// pages returns the page templates with this Kit's functions.
func (a *matrixApp) pages() *template.Template {
	return template.Must(template.New("").Funcs(a.kit.FuncMap()).Parse(matrixPages))
}

// accountETag is the account page's validator, computed (as in many apps)
// from the template's version, not from who is signed in.
const accountETag = `"account-v1"`

// accountHeaders sets what the app sets on its account page; it reports
// whether the request revalidates a copy it has (304).
func accountHeaders(h http.Header, r *http.Request) bool {
	h.Set("ETag", accountETag)
	h.Set("Cache-Control", "private, max-age=0, must-revalidate")
	return r.Header.Get("If-None-Match") == accountETag
}

// safeNext is a same-origin path to go to after signing in or out.
func safeNext(next, fallback string) string {
	if strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.HasPrefix(next, "/\\") {
		return next
	}
	return fallback
}

// handlers are the app's net/http handlers, shared by every router.
type handlers struct {
	a     *matrixApp
	pages *template.Template
}

func (h handlers) render(w http.ResponseWriter, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := h.pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (h handlers) loginPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, "login", map[string]any{"Request": r, "Next": safeNext(r.URL.Query().Get("next"), "/account")})
}

func (h handlers) welcome(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300") // the app's own choice for a public page
	h.render(w, "welcome", map[string]any{"Request": r})
}

func (h handlers) account(w http.ResponseWriter, r *http.Request) {
	if accountHeaders(w.Header(), r) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.render(w, "account", map[string]any{"Request": r, "Who": h.a.whoami(r)})
}

// login signs the form's email in the app's way, then calls kit.Login as
// the README says for the mode.
func (h handlers) login(w http.ResponseWriter, r *http.Request) {
	a, email := h.a, r.PostFormValue("email")
	if a.users != nil {
		token := make([]byte, 16)
		_, _ = rand.Read(token)
		value := hex.EncodeToString(token)
		a.users.mu.Lock()
		a.users.emails[value] = email
		a.users.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: appCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	if err := a.kit.Login(r.Context(), email); err != nil {
		http.Error(w, "login refused", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next"), "/account"), http.StatusSeeOther)
}

// signOutApp is the app's own sign-out, without the kit.
func (h handlers) signOutApp(w http.ResponseWriter, r *http.Request) error {
	a := h.a
	if a.sessions != nil {
		if err := a.sessions.RenewToken(r.Context()); err != nil {
			return err
		}
		a.sessions.Remove(r.Context(), appSessionKey)
		return nil
	}
	if c, err := r.Cookie(appCookie); err == nil {
		a.users.mu.Lock()
		delete(a.users.emails, c.Value)
		a.users.mu.Unlock()
	}
	// Deleted as most apps delete it (and examples/echostarter does): a
	// Set-Cookie with MaxAge -1 and none of the attributes it was set with.
	http.SetCookie(w, &http.Cookie{Name: appCookie, Value: "", Path: "/", MaxAge: -1})
	return nil
}

// logout is the app's sign-out and kit.Logout (scs: kit.Logout alone, it
// renews the token and removes the key).
func (h handlers) logout(w http.ResponseWriter, r *http.Request) {
	if h.a.sessions == nil {
		if err := h.signOutApp(w, r); err != nil {
			http.Error(w, "logout", http.StatusInternalServerError)
			return
		}
	}
	if err := h.a.kit.Logout(r.Context()); err != nil {
		http.Error(w, "logout", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next"), "/login"), http.StatusSeeOther)
}

// logoutKeepCookie is a logout that ends the user's session on the server
// and leaves the browser's cookie as it is (a deleted session row; the
// stale cookie signs nobody in), then calls kit.Logout. With scs, kit.Logout
// renews the token as always.
func (h handlers) logoutKeepCookie(w http.ResponseWriter, r *http.Request) {
	if a := h.a; a.users != nil {
		if c, err := r.Cookie(appCookie); err == nil {
			a.users.mu.Lock()
			delete(a.users.emails, c.Value)
			a.users.mu.Unlock()
		}
	}
	if err := h.a.kit.Logout(r.Context()); err != nil {
		http.Error(w, "logout", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// logoutPlain is a sign-out that does not call kit.Logout (no
// Clear-Site-Data): what no-store must hold against on its own.
func (h handlers) logoutPlain(w http.ResponseWriter, r *http.Request) {
	if err := h.signOutApp(w, r); err != nil {
		http.Error(w, "logout", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// hx serves the pages of a page-swapping library, htmx (/hx/…, hx-boost)
// or Turbo Drive (/tb/…): /{lib}/{head,body,control}/{login,page,other}.
func (h handlers) hx(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	lib, place, name := parts[0], parts[1], parts[2]
	data := map[string]any{"Request": r, "Lib": lib, "Place": place, "Back": place, "Who": h.a.whoami(r)}
	if place == "control" { // signed by hand, in <head> and in <body>: htmx's own behaviour, without the kit
		data["Back"] = "body"
		if who := h.a.whoami(r); who != "" {
			data["HandSigned"] = sign(who)
		}
	}
	h.render(w, "hx-"+name, data)
}

// hxPaths are the htmx and Turbo pages every router mounts.
var hxPaths = func() []string {
	var out []string
	for _, lib := range []string{"hx", "tb"} {
		for _, p := range []string{"head/login", "head/page", "head/other", "body/login", "body/page", "body/other", "control/page", "control/other"} {
			out = append(out, "/"+lib+"/"+p)
		}
	}
	return out
}()

// controls are pages beside the kit (the app's session only): the same
// account page and public page, which the browser treats as it treats any
// page, so each column shows what its protections change.
func (a *matrixApp) controls() http.Handler {
	h := handlers{a: a, pages: a.pages()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /control/account", func(w http.ResponseWriter, r *http.Request) {
		if accountHeaders(w.Header(), r) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		data := map[string]any{"Who": a.whoami(r)}
		if who := a.whoami(r); who != "" {
			data["HandSigned"] = sign(who) // a page the app signs by hand, beside the kit
		}
		h.render(w, "control-account", data)
	})
	mux.HandleFunc("GET /control/welcome", func(w http.ResponseWriter, r *http.Request) {
		// The app's own nonce on a public page: what the kit refuses to leave shared-cacheable.
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Security-Policy", "script-src 'nonce-Y29udHJvbC1ub25jZQ=='")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><html><body><p id="welcome">control</p><script nonce="Y29udHJvbC1ub25jZQ==">window.x = 1</script></body></html>`)
	})
	return mux
}

// --- routers -----------------------------------------------------------------

func (a *matrixApp) netHTTP() http.Handler {
	h := handlers{a: a, pages: a.pages()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("GET /welcome", h.welcome)
	mux.HandleFunc("GET /account", h.account)
	mux.HandleFunc("POST /logout", h.logout)
	mux.HandleFunc("POST /logout-plain", h.logoutPlain)
	mux.HandleFunc("POST /logout-keep-cookie", h.logoutKeepCookie)
	mux.Handle("GET /prefinery/identity", a.kit.IdentityHandler())
	for _, p := range hxPaths {
		mux.HandleFunc("GET "+p, h.hx)
	}
	var handler http.Handler = mux
	mws := a.middlewares()
	for i := len(mws) - 1; i >= 0; i-- {
		handler = mws[i](handler)
	}
	return handler
}

func (a *matrixApp) chi() http.Handler {
	h := handlers{a: a, pages: a.pages()}
	r := chi.NewRouter()
	r.Use(a.middlewares()...)
	r.Get("/login", h.loginPage)
	r.Post("/login", h.login)
	r.Get("/welcome", h.welcome)
	r.Get("/account", h.account)
	r.Post("/logout", h.logout)
	r.Post("/logout-plain", h.logoutPlain)
	r.Post("/logout-keep-cookie", h.logoutKeepCookie)
	r.Method(http.MethodGet, "/prefinery/identity", a.kit.IdentityHandler())
	for _, p := range hxPaths {
		r.Get(p, h.hx)
	}
	return r
}

func (a *matrixApp) gin() http.Handler {
	h := handlers{a: a, pages: a.pages()}
	r := gin.New()
	r.Use(gin.Recovery())
	switch a.col.mode {
	case modeSCS, modeRedis:
		r.Use(prefinerygin.Wrap(a.sessions.LoadAndSave), prefinerygin.Wrap(a.kit.Middleware))
	case modeUser:
		r.Use(prefinerygin.Wrap(a.kit.Middleware))
	case modeLogin: // the README's gin order: the app's auth first, prefinerygin.Login after the kit
		r.Use(func(c *gin.Context) {
			if email := a.users.lookup(c.Request); email != "" {
				c.Set("email", email)
			}
		})
		r.Use(prefinerygin.Wrap(a.kit.Middleware), prefinerygin.Login(a.kit, func(c *gin.Context) (string, bool) {
			email := c.GetString("email")
			return email, email != ""
		}))
	}
	r.SetHTMLTemplate(h.pages)
	r.GET("/account", func(c *gin.Context) { // rendered by gin, as the README's gin block
		if accountHeaders(c.Writer.Header(), c.Request) {
			c.Status(http.StatusNotModified)
			return
		}
		prefinerygin.HTML(c, http.StatusOK, "account", gin.H{"Who": a.whoami(c.Request)})
	})
	wrap := func(f http.HandlerFunc) gin.HandlerFunc { return prefinerygin.Handler(f) }
	r.GET("/login", wrap(h.loginPage))
	r.POST("/login", wrap(h.login))
	r.GET("/welcome", wrap(h.welcome))
	r.POST("/logout", wrap(h.logout))
	r.POST("/logout-plain", wrap(h.logoutPlain))
	r.POST("/logout-keep-cookie", wrap(h.logoutKeepCookie))
	r.GET("/prefinery/identity", prefinerygin.Handler(a.kit.IdentityHandler()))
	for _, p := range hxPaths {
		r.GET(p, wrap(h.hx))
	}
	return r
}

// echoRenderer renders the app's pages for Echo.
type echoRenderer struct{ t *template.Template }

func (e echoRenderer) Render(w io.Writer, name string, data any, _ echo.Context) error {
	return e.t.ExecuteTemplate(w, name, data)
}

func (a *matrixApp) echo() http.Handler {
	h := handlers{a: a, pages: a.pages()}
	e := echo.New()
	switch a.col.mode {
	case modeSCS, modeRedis:
		e.Use(echo.WrapMiddleware(a.sessions.LoadAndSave), echo.WrapMiddleware(a.kit.Middleware))
	case modeUser:
		e.Use(echo.WrapMiddleware(a.kit.Middleware))
	case modeLogin: // the README's prefineryUser middleware
		e.Use(echo.WrapMiddleware(a.kit.Middleware), func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				if email := a.users.lookup(c.Request()); email != "" {
					if err := a.kit.Login(c.Request().Context(), email); err != nil {
						return err
					}
				}
				return next(c)
			}
		})
	}
	e.Renderer = echoRenderer{h.pages}
	e.GET("/account", func(c echo.Context) error { // rendered by Echo
		if accountHeaders(c.Response().Header(), c.Request()) {
			return c.NoContent(http.StatusNotModified)
		}
		return c.Render(http.StatusOK, "account", map[string]any{"Request": c.Request(), "Who": a.whoami(c.Request())})
	})
	wrap := func(f http.HandlerFunc) echo.HandlerFunc { return echo.WrapHandler(f) }
	e.GET("/login", wrap(h.loginPage))
	e.POST("/login", wrap(h.login))
	e.GET("/welcome", wrap(h.welcome))
	e.POST("/logout", wrap(h.logout))
	e.POST("/logout-plain", wrap(h.logoutPlain))
	e.POST("/logout-keep-cookie", wrap(h.logoutKeepCookie))
	e.GET("/prefinery/identity", echo.WrapHandler(a.kit.IdentityHandler()))
	for _, p := range hxPaths {
		e.GET(p, wrap(h.hx))
	}
	return e
}

// newRedisPool is the pool the README's "Running several instances" shows.
func newRedisPool(addr string) *redis.Pool {
	return &redis.Pool{MaxIdle: 16, IdleTimeout: time.Minute,
		Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
}
