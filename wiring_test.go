package prefinery

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWiringMistakesExplainThemselves: each mistake a new user made is logged
// once per Kit, with the fix in the message.
func TestWiringMistakesExplainThemselves(t *testing.T) {
	t.Parallel()
	page := func(kit *Kit) http.Handler {
		tmpl := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryEmbed .}}</head>`))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = tmpl.Execute(w, r) })
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		chain func(kit *Kit, sm *scs.SessionManager, h http.Handler) http.Handler
		setup func(sm *scs.SessionManager) http.Handler // a route that puts something in the session
		want  []string
	}{
		{"no kit.Middleware", nil,
			func(kit *Kit, sm *scs.SessionManager, h http.Handler) http.Handler { return sm.LoadAndSave(h) }, nil,
			[]string{"did not pass through kit.Middleware", "sessions.LoadAndSave(kit.Middleware(mux))"}},
		{"Middleware outside LoadAndSave", nil,
			func(kit *Kit, sm *scs.SessionManager, h http.Handler) http.Handler {
				return kit.Middleware(sm.LoadAndSave(h))
			}, nil,
			[]string{"Put kit.Middleware inside sessions.LoadAndSave"}},
		{"SessionKey holds the app's int user id", func(c *Config) { c.SessionKey = "authenticatedUserID" },
			func(kit *Kit, sm *scs.SessionManager, h http.Handler) http.Handler {
				return sm.LoadAndSave(kit.Middleware(h))
			},
			func(sm *scs.SessionManager) http.Handler {
				return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "authenticatedUserID", 42) }))
			},
			[]string{`"session_key":"authenticatedUserID"`, `"type":"int"`, "not the user's identifier as a string", "kit.Login", "Config.User"}},
		{"Config.Nonce gives nothing under a CSP", func(c *Config) { c.Nonce = func(*http.Request) string { return "" } },
			func(kit *Kit, sm *scs.SessionManager, h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Security-Policy", "script-src 'self'")
					sm.LoadAndSave(kit.Middleware(h)).ServeHTTP(w, r)
				})
			}, nil,
			[]string{"Config.Nonce gave no nonce", "leave Config.Nonce nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := testLogger()
			sm := scs.New()
			cfg := Config{Secret: testSecret, Sessions: sm, ProjectKey: "ab12cd34", Logger: logger}
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			kit, err := New(cfg)
			require.NoError(t, err)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/setup" && tt.setup != nil {
					tt.setup(sm).ServeHTTP(w, r)
					return
				}
				tt.chain(kit, sm, page(kit)).ServeHTTP(w, r)
			}))
			defer srv.Close()
			app := &testApp{t: t, server: srv}
			c := app.client()
			app.get(c, "/setup")
			for range 3 {
				app.get(c, "/page")
			}
			for _, want := range tt.want {
				assert.Equal(t, 1, strings.Count(logs.String(), want), "logged once: %q in\n%s", want, logs.String())
			}
		})
	}
}

// TestNewWithoutLoader: a Kit whose pages would all fail is refused at New.
func TestNewWithoutLoader(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Secret: testSecret, Sessions: scs.New()})
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "ProjectKey")
	assert.ErrorContains(t, err, "EndpointOnly")
	kit := newKit(t, Config{Sessions: scs.New(), EndpointOnly: true})
	rec := httptest.NewRecorder()
	kit.IdentityHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/prefinery/identity", nil))
	body, _ := io.ReadAll(rec.Body)
	assert.Contains(t, string(body), "server misconfigured", "the endpoint still explains a missing LoadAndSave")
}

// TestMetaCSPIsLogged: AutoInsert cannot amend a policy set in a <meta> tag,
// and says so once.
func TestMetaCSPIsLogged(t *testing.T) {
	t.Parallel()
	logger, logs := testLogger()
	kit := newKit(t, Config{User: userFromContext, ProjectKey: "ab12cd34", AutoInsert: true, Logger: logger})
	page := `<html><head><META HTTP-EQUIV="Content-Security-Policy" content="script-src 'self'"></head><body></body></html>`
	for range 3 {
		res := serveAuto(t, kit, "GET", "", htmlHandler(200, page, "Content-Type", "text/html"))
		assert.Contains(t, body(t, res), stubJS, "the snippet still goes in")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "<meta http-equiv"), logs.String())
}

// TestBypassedWriterIsReported: a handler that renders the signed-in user's
// call but writes the page to a writer captured outside the kit's middleware
// (what gin's naive adapter does) leaves without no-store; the kit says so
// once, at ERROR, with the fix. A handler that writes through the kit's
// writer is not reported.
func TestBypassedWriterIsReported(t *testing.T) {
	t.Parallel()
	logger, logs := testLogger()
	kit := newKit(t, Config{Logger: logger})
	tmpl := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryEmbed .}}</head>`))
	captured := func(next func(w http.ResponseWriter, r *http.Request)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			kit.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				next(w, r) // the outer writer, not the kit's
			})).ServeHTTP(w, r)
		})
	}
	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=600")
		require.NoError(t, tmpl.Execute(w, r))
	}
	for range 3 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		captured(page).ServeHTTP(rec, req.WithContext(contextWithUser(req, "amy@example.com")))
		require.Contains(t, rec.Body.String(), "authenticateUser")
		assert.Equal(t, "private, max-age=600", rec.Header().Get("Cache-Control"), "control: the bypass keeps the handler's caching")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), `"level":"ERROR"`), logs.String())
	assert.Contains(t, logs.String(), "prefinerygin.Wrap")

	logger, logs = testLogger()
	kit = newKit(t, Config{Logger: logger})
	tmpl = template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryEmbed .}}</head>`))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	kit.Middleware(http.HandlerFunc(page)).ServeHTTP(rec, req.WithContext(contextWithUser(req, "amy@example.com")))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Empty(t, logs.String(), "written through the kit: nothing to report")
}

// TestLoginOutsideLoadAndSave: with kit.Middleware outside LoadAndSave,
// Login and Logout return an error that names the fix, instead of nil with
// the change unseen by the request.
func TestLoginOutsideLoadAndSave(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kit := newKit(t, Config{Sessions: sm})
	var loginErr, logoutErr error
	h := kit.Middleware(sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loginErr = kit.Login(r.Context(), "amy@example.com")
		logoutErr = kit.Logout(r.Context())
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil))
	for _, err := range []error{loginErr, logoutErr} {
		require.ErrorIs(t, err, ErrNoSession)
		assert.Contains(t, err.Error(), "sessions.LoadAndSave(kit.Middleware(mux))")
	}
	h = sm.LoadAndSave(kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loginErr = kit.Login(r.Context(), "amy@example.com")
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil))
	assert.NoError(t, loginErr, "the right order")
}

// TestLoaderNotFoundIsReported: a stand-in mounted where its loader is not
// served (chi's r.Handle(standin.Path, widget) matches that path alone)
// answers 404 for widget.js; the kit knows the loader's path and says so
// once, with the fix. Control: another path's 404 says nothing.
func TestLoaderNotFoundIsReported(t *testing.T) {
	t.Parallel()
	logger, logs := testLogger()
	kit := newKit(t, Config{WidgetURL: "/prefinery-standin/widget.js", Logger: logger})
	h := kit.Middleware(http.NotFoundHandler())
	for _, path := range []string{"/missing.png", "/prefinery-standin/widget.js", "/prefinery-standin/widget.js"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		if path == "/missing.png" {
			assert.NotContains(t, logs.String(), "answered 404", "control: another path")
		}
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "answered 404"), logs.String())
	assert.Contains(t, logs.String(), `standin.Path+\"*\"`)
}
