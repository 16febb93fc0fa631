package prefinery

import (
	"context"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inSession runs fn inside a real scs LoadAndSave for one request and returns
// the response (with its Set-Cookie).
func inSession(t *testing.T, sm *scs.SessionManager, cookie *http.Cookie, fn func(r *http.Request)) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fn(r) })).ServeHTTP(rec, req)
	return rec.Result()
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	t.Fatal("no session cookie set")
	return nil
}

func TestSessionValuesThatMeanSignedOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value any
	}{
		{"missing", nil},
		{"empty string", ""},
		{"int", 42},
		{"bytes", []byte("alice@example.com")},
		{"bool", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := scs.New()
			kit := newKit(t, Config{EndpointOnly: true, Sessions: sm})
			res := inSession(t, sm, nil, func(r *http.Request) {
				sm.Put(r.Context(), "other", "kept")
				if tt.value != nil {
					sm.Put(r.Context(), defaultSessionKey, tt.value)
				}
			})
			cookie := sessionCookie(t, res)
			inSession(t, sm, cookie, func(r *http.Request) {
				kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, ok := kit.templateIdentity(r)
					assert.False(t, ok)
				})).ServeHTTP(httptest.NewRecorder(), r)
			})
		})
	}
}

func TestSessionAppOwnKey(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: sm, SessionKey: "userEmail"})
	res := inSession(t, sm, nil, func(r *http.Request) { sm.Put(r.Context(), "userEmail", "dora@example.com") })
	inSession(t, sm, sessionCookie(t, res), func(r *http.Request) {
		kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := kit.templateIdentity(r)
			assert.True(t, ok)
			assert.Equal(t, "dora@example.com", id.Identifier)
		})).ServeHTTP(httptest.NewRecorder(), r)
	})
}

func TestLoginRenewsTokenAndStoresIdentifier(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: sm})
	// An attacker-planted session (fixation): it exists before login.
	planted := sessionCookie(t, inSession(t, sm, nil, func(r *http.Request) { sm.Put(r.Context(), "x", 1) }))
	res := inSession(t, sm, planted, func(r *http.Request) {
		require.NoError(t, kit.Login(r.Context(), "erin@example.com"))
	})
	fresh := sessionCookie(t, res)
	assert.NotEqual(t, planted.Value, fresh.Value, "login renews the session token")
	inSession(t, sm, planted, func(r *http.Request) {
		assert.Empty(t, sm.GetString(r.Context(), defaultSessionKey), "the planted token is not signed in")
	})
	res = inSession(t, sm, fresh, func(r *http.Request) {
		assert.Equal(t, "erin@example.com", sm.GetString(r.Context(), defaultSessionKey))
		assert.Equal(t, 1, sm.GetInt(r.Context(), "x"), "other session data is kept")
		require.NoError(t, kit.Logout(r.Context()))
	})
	afterLogout := sessionCookie(t, res)
	assert.NotEqual(t, fresh.Value, afterLogout.Value, "logout renews the session token")
	inSession(t, sm, afterLogout, func(r *http.Request) {
		assert.Empty(t, sm.GetString(r.Context(), defaultSessionKey))
	})
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: sm})

	inSession(t, sm, nil, func(r *http.Request) {
		err := kit.Login(r.Context(), "a\xffb@x.com")
		assert.ErrorIs(t, err, ErrInvalidIdentifier)
		assert.NotContains(t, err.Error(), "a\xffb")
		assert.ErrorIs(t, kit.Login(r.Context(), ""), ErrInvalidIdentifier)
		assert.Empty(t, sm.GetString(r.Context(), defaultSessionKey), "nothing stored on error")
	})

	assert.ErrorIs(t, kit.Login(context.Background(), "a@b.c"), ErrNoSession, "outside LoadAndSave")
	assert.ErrorIs(t, kit.Logout(context.Background()), ErrNoSession)

	userKit := newKit(t, Config{EndpointOnly: true, User: func(*http.Request) (string, bool) { return "", false }})
	assert.ErrorIs(t, userKit.Login(context.Background(), "a@b.c"), ErrNoSession, "Config.User: outside kit.Middleware")
	assert.ErrorIs(t, userKit.Logout(context.Background()), ErrNoSession)
	assert.ErrorIs(t, userKit.Login(context.Background(), ""), ErrInvalidIdentifier)
}

// TestLoginAndLogoutWithConfigUser: with the app's own sessions, Logout does
// what is the kit's (nobody signed in for the rest of the request,
// Clear-Site-Data on the response) and Login makes the user this request's.
func TestLoginAndLogoutWithConfigUser(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{}) // Config.User reads the user from the request context
	serve := func(h func(w http.ResponseWriter, r *http.Request)) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		kit.Middleware(http.HandlerFunc(h)).ServeHTTP(rec, req.WithContext(contextWithUser(req, "amy@example.com")))
		return rec
	}
	rec := serve(func(w http.ResponseWriter, r *http.Request) {
		_, ok := kit.Identity(r.Context())
		require.True(t, ok)
		require.NoError(t, kit.Logout(r.Context()))
		_, ok = kit.Identity(r.Context())
		assert.False(t, ok, "signed out for the rest of the request")
	})
	assert.Equal(t, `"cache"`, rec.Header().Get("Clear-Site-Data"))
	rec = serve(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, kit.Login(r.Context(), "bob@example.com"))
		id, ok := kit.Identity(r.Context())
		require.True(t, ok)
		assert.Equal(t, "bob@example.com", id.Identifier, "Login makes the user this request's")
		_, _ = io.WriteString(w, "ok")
	})
	assert.Empty(t, rec.Header().Get("Clear-Site-Data"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"), "the identity was read: protected")
}

// flakyStore wraps memstore and fails on demand.
type flakyStore struct {
	scs.Store
	fail atomic.Bool
}

var errStoreDown = errors.New("store down: connection refused")

func (s *flakyStore) Find(token string) ([]byte, bool, error) {
	if s.fail.Load() {
		return nil, false, errStoreDown
	}
	return s.Store.Find(token)
}

func (s *flakyStore) Commit(token string, b []byte, expiry time.Time) error {
	if s.fail.Load() {
		return errStoreDown
	}
	return s.Store.Commit(token, b, expiry)
}

func (s *flakyStore) Delete(token string) error {
	if s.fail.Load() {
		return errStoreDown
	}
	return s.Store.Delete(token)
}

func TestLoginStoreFailure(t *testing.T) {
	t.Parallel()
	store := &flakyStore{Store: memstore.New()}
	sm := scs.New()
	sm.Store = store
	kit := newKit(t, Config{EndpointOnly: true, Sessions: sm})
	cookie := sessionCookie(t, inSession(t, sm, nil, func(r *http.Request) { sm.Put(r.Context(), "x", 1) }))
	ctx, err := sm.Load(context.Background(), cookie.Value)
	require.NoError(t, err)
	store.fail.Store(true) // the store goes away before login renews the token
	err = kit.Login(ctx, "a@b.c")
	require.ErrorIs(t, err, errStoreDown)
	assert.Contains(t, err.Error(), "renewing the session token")
	assert.Empty(t, sm.GetString(ctx, defaultSessionKey), "nothing stored when the renewal failed")
	assert.ErrorIs(t, kit.Logout(ctx), errStoreDown)
}

// TestLoginAndLogoutTakeEffectAtOnce: what a handler renders after Login or
// Logout, in the same request, is the new user's identity, or none.
func TestLoginAndLogoutTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	render := func(r *http.Request) string {
		id, ok := app.kit.Identity(r.Context())
		if !ok {
			return "none"
		}
		return id.Identifier + " " + id.Signature
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /switch", func(w http.ResponseWriter, r *http.Request) {
		before := render(r)
		require.NoError(t, app.kit.Login(r.Context(), "bob@example.com"))
		_, _ = io.WriteString(w, before+"|"+render(r))
	})
	mux.HandleFunc("POST /out", func(w http.ResponseWriter, r *http.Request) {
		before := render(r)
		require.NoError(t, app.kit.Logout(r.Context()))
		_, _ = io.WriteString(w, before+"|"+render(r))
	})
	mux.Handle("/", testMux(app.kit))
	app.server = httptest.NewServer(app.sessions.LoadAndSave(app.kit.Middleware(mux)))
	t.Cleanup(app.server.Close)

	c := app.client()
	res, err := c.Post(app.server.URL+"/switch", "text/plain", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "none|bob@example.com "+app.kit.Sign("bob@example.com"), string(body), "signed out, then Bob")

	app.login(c, "alice@example.com")
	res, err = c.Post(app.server.URL+"/switch", "text/plain", nil)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "alice@example.com "+app.kit.Sign("alice@example.com")+"|bob@example.com "+app.kit.Sign("bob@example.com"), string(body), "Alice, then Bob")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "a response that carried Alice's signature stays protected")

	res, err = c.Post(app.server.URL+"/out", "text/plain", nil)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "bob@example.com "+app.kit.Sign("bob@example.com")+"|none", string(body), "Bob, then nobody")
	assert.Equal(t, `"cache"`, res.Header.Get("Clear-Site-Data"), "Logout tells the browser to drop the pages it kept")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
}

func TestLogoutKeepCacheOnLogout(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{false, true} {
		app := newTestApp(t, func(c *Config) { c.KeepCacheOnLogout = keep })
		c := app.client()
		app.login(c, "kim@example.com")
		res, err := c.Post(app.server.URL+"/logout", "text/plain", nil)
		require.NoError(t, err)
		res.Body.Close()
		want := `"cache"`
		if keep {
			want = ""
		}
		assert.Equal(t, want, res.Header.Get("Clear-Site-Data"), "KeepCacheOnLogout=%t", keep)
	}
}

// TestUserFromTheFrameworksAuth: with neither Sessions nor User, an app
// whose auth middleware keeps the user in its framework's context names
// the user in one line, kit.Login, on each request; pages render the
// signed call, Logout signs out with Clear-Site-Data, and a request without
// Login is signed out.
func TestUserFromTheFrameworksAuth(t *testing.T) {
	t.Parallel()
	kit, err := New(Config{Secret: testSecret, ProjectKey: "ab12cd34"})
	require.NoError(t, err)
	tmpl := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`{{prefineryAuthenticate .}}`))
	type frameworkUser struct{}
	auth := func(next http.Handler) http.Handler { // the app's own auth middleware, as Echo or gin keep it
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, ok := r.Context().Value(frameworkUser{}).(string); ok {
				require.NoError(t, kit.Login(r.Context(), u)) // the one line
			}
			next.ServeHTTP(w, r)
		})
	}
	page := func(user string, logout bool) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if user != "" {
			req = req.WithContext(context.WithValue(req.Context(), frameworkUser{}, user))
		}
		kit.Middleware(auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if logout {
				require.NoError(t, kit.Logout(r.Context()))
			}
			require.NoError(t, tmpl.Execute(w, r))
		}))).ServeHTTP(rec, req)
		return rec
	}
	assert.Contains(t, page("ada@example.com", false).Body.String(), `"email":"ada@example.com","signature":"`+kit.Sign("ada@example.com")+`"`)
	assert.Empty(t, page("", false).Body.String(), "no Login: signed out")
	rec := page("ada@example.com", true)
	assert.Empty(t, rec.Body.String(), "signed out after Logout")
	assert.Equal(t, `"cache"`, rec.Header().Get("Clear-Site-Data"))
}

// TestWiringMessagesFitTheMode: Login outside the middleware says what is
// wrong in the app's own wiring. An app without scs is never told to use
// LoadAndSave (error and log); an app with scs is, and both errors match
// ErrNoSession.
func TestWiringMessagesFitTheMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		sessions     bool
		want, reject string
	}{
		{"Login per request, no scs", false, "kit.Middleware(auth(mux)); in gin, whose auth usually runs first, add prefinerygin.Login", "LoadAndSave"},
		{"scs", true, "LoadAndSave", "auth(mux)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := testLogger()
			cfg := Config{EndpointOnly: true, Logger: logger}
			if tt.sessions {
				cfg.Sessions = scs.New()
			}
			kit := newKit(t, cfg, func(c *Config) {
				if !tt.sessions {
					c.User = nil
				}
			})
			err := kit.Login(context.Background(), "ada@example.com")
			require.ErrorIs(t, err, ErrNoSession)
			assert.NotContains(t, err.Error(), tt.reject)
			assert.Equal(t, 1, strings.Count(err.Error(), "prefinery:"), "one prefix: %s", err)
			if !tt.sessions {
				assert.Contains(t, logs.String(), tt.want)
				assert.NotContains(t, logs.String(), tt.reject)
			} else {
				assert.Contains(t, err.Error(), tt.want)
			}
		})
	}
}

// TestSignChangeReloadsHTMXPages: htmx swaps <body> (hx-boost) or a target
// and keeps <head>, so after a sign-in or sign-out in an htmx request an embed
// in <head> would go on telling the widget the previous user. The kit makes
// htmx load the whole page: a redirect becomes HX-Redirect, any other answer
// gets HX-Refresh. Controls: the same requests without HX-Request are left
// alone, and Login per request (no Sessions, no User, on every request) is a
// sign-in only when the kit's user cookie does not name that user yet.
func TestSignChangeReloadsHTMXPages(t *testing.T) {
	t.Parallel()
	type mode struct {
		name string
		cfg  func(*Config)
	}
	modes := []mode{
		{"scs", func(c *Config) { c.Sessions = scs.New(); c.User = nil }},
		{"Config.User", func(c *Config) {}},
		{"Login per request", func(c *Config) { c.User = nil }},
	}
	tests := []struct {
		name       string
		op         string // "login", "logout", or "name" (Login of the request's user, as an auth middleware does)
		redirect   bool
		htmx       bool
		wantStatus int
		wantHeader string // "HX-Redirect", "HX-Refresh", or "" for none
	}{
		{"logout redirect, htmx", "logout", true, true, http.StatusOK, "HX-Redirect"},
		{"logout page, htmx", "logout", false, true, http.StatusOK, "HX-Refresh"},
		{"logout redirect, no htmx (control)", "logout", true, false, http.StatusSeeOther, ""},
		{"login redirect, htmx", "login", true, true, http.StatusOK, "HX-Redirect"},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				kit := newKit(t, Config{EndpointOnly: true}, m.cfg)
				h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					var err error
					if tt.op == "logout" {
						err = kit.Logout(r.Context())
					} else {
						err = kit.Login(r.Context(), "bob@example.com")
					}
					require.NoError(t, err)
					if tt.redirect {
						http.Redirect(w, r, "/account", http.StatusSeeOther)
						return
					}
					_, _ = io.WriteString(w, "<p>signed out</p>")
				}))
				h = kit.Middleware(h)
				if kit.cfg.Sessions != nil {
					h = kit.cfg.Sessions.LoadAndSave(h)
				}
				r := httptest.NewRequest(http.MethodPost, "/logout", nil)
				r = r.WithContext(context.WithValue(r.Context(), ctxUserKey{}, "alice@example.com"))
				if tt.htmx {
					r.Header.Set("HX-Request", "true")
					r.Header.Set("HX-Boosted", "true")
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				res := rec.Result()
				wantStatus, wantHeader := tt.wantStatus, tt.wantHeader
				if m.name == "Login per request" && tt.op == "login" && tt.htmx {
					// The browser's user cookie names bob already: naming him
					// again is no sign-in (the first time above, it was).
					again := httptest.NewRequest(http.MethodGet, "/account", nil)
					again.Header.Set("HX-Request", "true")
					again.AddCookie(&http.Cookie{Name: userCookieName, Value: kit.userTag("bob@example.com")})
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, again)
					assert.Equal(t, http.StatusSeeOther, rec.Code, "the same user again: no reload")
					assert.Empty(t, rec.Header().Get("HX-Redirect"))
					assert.Empty(t, rec.Header().Values("Set-Cookie"))
				}
				assert.Equal(t, wantStatus, res.StatusCode)
				for _, name := range []string{"HX-Redirect", "HX-Refresh"} {
					if name == wantHeader {
						assert.NotEmpty(t, res.Header.Get(name), name)
					} else {
						assert.Empty(t, res.Header.Get(name), name)
					}
				}
				if wantHeader == "HX-Redirect" {
					assert.Equal(t, "/account", res.Header.Get("HX-Redirect"))
					assert.Empty(t, res.Header.Get("Location"))
				}
			})
		}
	}
}

// TestLogoutChangesAnHTTPOnlyCookie: Chromium keeps no-store pages in its
// back/forward cache and evicts them when an HttpOnly cookie of theirs
// changes. With scs, Logout's token renewal is that change; without scs,
// Logout sets the kit's own prefinery_user cookie (HttpOnly, a fresh
// random value each time, Secure over TLS). Control: with scs the kit adds no
// cookie of its own.
func TestLogoutChangesAnHTTPOnlyCookie(t *testing.T) {
	t.Parallel()
	logout := func(t *testing.T, kit *Kit, tls bool) *http.Cookie {
		var h http.Handler = kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, kit.Logout(r.Context()))
		}))
		r := httptest.NewRequest(http.MethodPost, "https://app.example/logout", nil)
		if !tls {
			r = httptest.NewRequest(http.MethodPost, "http://app.example/logout", nil)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for _, c := range rec.Result().Cookies() {
			if c.Name == userCookieName {
				return c
			}
		}
		return nil
	}
	for _, tt := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"Config.User", func(c *Config) {}},
		{"Login per request", func(c *Config) { c.User = nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := newKit(t, Config{EndpointOnly: true}, tt.cfg)
			first, second := logout(t, kit, false), logout(t, kit, true)
			require.NotNil(t, first)
			require.NotNil(t, second)
			assert.True(t, first.HttpOnly)
			assert.Equal(t, "/", first.Path)
			assert.Equal(t, http.SameSiteLaxMode, first.SameSite)
			assert.False(t, first.Secure)
			assert.True(t, second.Secure, "Secure over TLS")
			assert.NotEqual(t, first.Value, second.Value, "a fresh value: the cookie changes every time")
		})
	}
	t.Run("scs (control)", func(t *testing.T) {
		t.Parallel()
		kit := newKit(t, Config{EndpointOnly: true, Sessions: scs.New()})
		var h http.Handler = kit.cfg.Sessions.LoadAndSave(kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, kit.Logout(r.Context()))
		})))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/logout", nil))
		for _, c := range rec.Result().Cookies() {
			assert.NotEqual(t, userCookieName, c.Name, "scs's renewed token is the change")
		}
	})
}
