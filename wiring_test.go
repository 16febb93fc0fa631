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
	logger, logs := testLogger()
	kit := newKit(t, Config{User: userFromContext, ProjectKey: "ab12cd34", AutoInsert: true, Logger: logger})
	page := `<html><head><META HTTP-EQUIV="Content-Security-Policy" content="script-src 'self'"></head><body></body></html>`
	for range 3 {
		res := serveAuto(t, kit, "GET", "", htmlHandler(200, page, "Content-Type", "text/html"))
		assert.Contains(t, body(t, res), stubJS, "the snippet still goes in")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "<meta http-equiv"), logs.String())
}
