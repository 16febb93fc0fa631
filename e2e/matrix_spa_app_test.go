package e2e

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/testlog"
	"github.com/prefinerykit/prefinery/prefinerygin"
)

// The SPA columns' apps: a JSON API that reads the identity endpoint's user
// from its own auth (a bearer token, or for the control a cookie), with the
// kit as README's "An SPA on another origin with a bearer token" says:
// Config{User, EndpointOnly, SPAOrigins} behind kit.Middleware. Beside the
// endpoint it serves its own API route, GET /api/user, behind a CORS
// middleware that reflects every origin with credentials (the careless
// setup a JSON API often has): what a page on any origin can read where the
// app's CORS decides, the control of the refusals.

const (
	modeSPAKit    mode = "spa-bearer"               // the app's CORS covers its own routes; the kit answers the endpoint's preflight
	modeSPAApp    mode = "spa-bearer-app-cors"      // the app's CORS wraps every route, the endpoint too, and answers every preflight itself
	modeSPAReadme mode = "spa-bearer-readme-routes" // as spa-bearer, the endpoint mounted by the README's line for the router (every method)
)

var spaModes = []mode{modeSPAKit, modeSPAApp, modeSPAReadme}

// spaAuth is how an spaApp names its user.
type spaAuth int

const (
	authBearer spaAuth = iota // Authorization: Token …
	authCookie                // the app's own session cookie (the control)
)

// spaTokens are the bearer API's users (each column's app has the same).
var spaTokens = map[string]string{"Token alice-token": alice, "Token bob-token": bob}

// spaCookie is the cookie app's auth cookie. It is shared by every port of
// 127.0.0.1 (cookies ignore ports): the bearer API receives it too and
// ignores it.
const spaCookie = "spa_session"

// spaRequest is a request the API received, as it arrived.
type spaRequest struct {
	method, path, origin, site, mode string
	auth, cookie                     bool
	status                           int
}

// spaApp is one column's API on loopback.
type spaApp struct {
	kit  *prefinery.Kit
	srv  *httptest.Server
	logs *testlog.Buffer // the kit's log (slog writes from the server's goroutines)

	mu       sync.Mutex
	requests []spaRequest
	sessions map[string]string // cookie value → email (authCookie)
}

func (a *spaApp) user(auth spaAuth) func(*http.Request) (string, bool) {
	if auth == authBearer {
		return func(r *http.Request) (string, bool) {
			email, ok := spaTokens[r.Header.Get("Authorization")]
			return email, ok
		}
	}
	return func(r *http.Request) (string, bool) {
		c, err := r.Cookie(spaCookie)
		if err != nil {
			return "", false
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		email, ok := a.sessions[c.Value]
		return email, ok
	}
}

// seen returns the requests the API received so far.
func (a *spaApp) seen() []spaRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]spaRequest(nil), a.requests...)
}

func newSPAApp(col column, auth spaAuth, spaOrigins []string) (*spaApp, error) {
	secret, err := prefinery.NewSecret(secretText)
	if err != nil {
		return nil, err
	}
	a := &spaApp{logs: &testlog.Buffer{}, sessions: map[string]string{}}
	a.kit, err = prefinery.New(prefinery.Config{Secret: secret, User: a.user(auth), EndpointOnly: true, SPAOrigins: spaOrigins,
		Logger: slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return nil, err
	}
	wideCORS := col.mode == modeSPAApp
	readme := col.mode == modeSPAReadme // the endpoint mounted by the README's line for the router
	var api http.Handler
	switch col.router {
	case routerNetHTTP:
		mux := http.NewServeMux()
		mux.Handle("/prefinery/identity", a.kit.IdentityHandler()) // every method: the preflight reaches the kit
		api = a.kit.Middleware(mux)
		if wideCORS {
			api = appCORS(api)
		}
	case routerChi:
		r := chi.NewRouter()
		if wideCORS {
			r.Use(appCORS)
		}
		r.Use(a.kit.Middleware)
		r.Handle("/prefinery/identity", a.kit.IdentityHandler()) // the README's line: every method
		api = r
	case routerGin:
		r := gin.New()
		if wideCORS { // as gin-contrib/cors does: a preflight is answered and aborted here
			r.Use(func(c *gin.Context) {
				if reflectOrigin(c.Writer.Header(), c.Request) {
					c.AbortWithStatus(http.StatusNoContent)
				}
			})
		}
		r.Use(prefinerygin.Wrap(a.kit.Middleware))
		if readme {
			r.Any("/prefinery/identity", prefinerygin.Handler(a.kit.IdentityHandler())) // the README's line
		} else {
			r.GET("/prefinery/identity", prefinerygin.Handler(a.kit.IdentityHandler()))
			r.OPTIONS("/prefinery/identity", prefinerygin.Handler(a.kit.IdentityHandler())) // the preflight reaches the kit
		}
		api = r
	case routerEcho:
		e := echo.New()
		if wideCORS { // Echo's own CORS middleware, reflecting every origin
			e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
				AllowOriginFunc:  func(string) (bool, error) { return true, nil },
				AllowCredentials: true,
				AllowHeaders:     []string{"Authorization"},
			}))
		}
		e.Use(echo.WrapMiddleware(a.kit.Middleware))
		if readme {
			e.Any("/prefinery/identity", echo.WrapHandler(a.kit.IdentityHandler())) // the README's line
		} else {
			e.GET("/prefinery/identity", echo.WrapHandler(a.kit.IdentityHandler()))
			e.OPTIONS("/prefinery/identity", echo.WrapHandler(a.kit.IdentityHandler())) // the preflight reaches the kit
		}
		api = e
	}
	top := http.NewServeMux()
	// The app's own API route, behind its own CORS: who the app says is signed in.
	top.Handle("/api/user", appCORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, ok := a.user(auth)(r)
		if !ok {
			http.Error(w, `{"error":"not signed in"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"user":"` + email + `"}`))
	})))
	// The cookie app's sign-in, a first-party navigation: a session cookie a
	// cross-site request carries (SameSite=None; Secure is kept on loopback).
	top.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		value := strings.ReplaceAll(r.URL.Query().Get("as"), "@", "-at-")
		a.mu.Lock()
		a.sessions[value] = r.URL.Query().Get("as")
		a.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: spaCookie, Value: value, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><p id="signed-in">signed in</p>`))
	})
	top.Handle("/", api)
	a.srv = httptest.NewServer(a.record(top))
	return a, nil
}

// record notes every request as it arrived, and the status it got.
func (a *spaApp) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		_, cookieErr := r.Cookie(spaCookie)
		a.mu.Lock()
		a.requests = append(a.requests, spaRequest{method: r.Method, path: r.URL.Path, origin: r.Header.Get("Origin"),
			site: r.Header.Get("Sec-Fetch-Site"), mode: r.Header.Get("Sec-Fetch-Mode"),
			auth: r.Header.Get("Authorization") != "", cookie: cookieErr == nil, status: sw.status})
		a.mu.Unlock()
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// appCORS is the app's own CORS middleware: it grants every origin,
// with credentials, and answers every preflight itself.
func appCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reflectOrigin(w.Header(), r) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// reflectOrigin sets the reflecting grant and reports whether r is a
// preflight (answered by the caller).
func reflectOrigin(h http.Header, r *http.Request) (preflight bool) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE")
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
	}
	return true
}

// spaPage is the single-page app, served from origins other than the API's:
// readJSON fetches a URL the way an SPA calls its API and reports what the
// page could read (a blocked read is the TypeError fetch rejects with).
const spaPage = `<!doctype html><html><head><meta charset="utf-8"><title>SPA</title>
<script>
async function readJSON(url, token, credentials) {
  const init = {credentials: credentials || "same-origin", headers: {}};
  if (token) init.headers.Authorization = "Token " + token;
  try {
    const res = await fetch(url, init);
    return JSON.stringify({status: res.status, body: await res.text(), cacheControl: res.headers.get("Cache-Control") || ""});
  } catch (e) {
    return JSON.stringify({status: 0, body: "", error: String(e)});
  }
}
</script></head><body><p id="spa">SPA</p></body></html>`

// newSPAPages serves spaPage on loopback.
func newSPAPages() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(spaPage))
	}))
}
