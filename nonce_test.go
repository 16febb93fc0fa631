package prefinery

import (
	"crypto/tls"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cspPage is a page under a CSP set by the app's own middleware before the
// kit's, rendering the embed snippet through the template functions.
func cspPage(t *testing.T, kit *Kit, policy, reportOnly string) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if policy != "" {
			w.Header().Set("Content-Security-Policy", policy)
		}
		if reportOnly != "" {
			w.Header().Set("Content-Security-Policy-Report-Only", reportOnly)
		}
		kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			snippet, err := kit.embed(r)
			require.NoError(t, err)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<html><head>"+string(snippet)+"</head><body></body></html>")
		})).ServeHTTP(w, r)
	})
}

var scriptNonce = regexp.MustCompile(`<script nonce="([^"]+)"`)

// TestCSPNonceMatchesScripts: the kit's scripts carry the nonce it adds to the
// page's policy (enforced and report-only), a fresh one per response.
func TestCSPNonceMatchesScripts(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	h := cspPage(t, kit, "default-src 'self'", "script-src 'self'")
	seen := map[string]bool{}
	for range 3 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		h.ServeHTTP(rec, req.WithContext(contextWithUser(req, "amy@example.com")))
		nonces := scriptNonce.FindAllStringSubmatch(rec.Body.String(), -1)
		require.Len(t, nonces, 3, "stub, loader, authenticateUser")
		nonce := nonces[0][1]
		for _, m := range nonces {
			assert.Equal(t, nonce, m[1])
		}
		assert.GreaterOrEqual(t, len(nonce), 22, "128 bits")
		assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'self' 'nonce-"+nonce+"'")
		assert.Contains(t, rec.Header().Get("Content-Security-Policy-Report-Only"), "'nonce-"+nonce+"'")
		assert.False(t, seen[nonce], "a fresh nonce per response")
		seen[nonce] = true
	}
}

// TestCSPLeftAlone: no nonce and no change where the app brings its own nonce,
// where the page has no policy, and on responses that are not pages.
func TestCSPLeftAlone(t *testing.T) {
	t.Parallel()
	t.Run("Config.Nonce set", func(t *testing.T) {
		kit := newKit(t, Config{Nonce: func(*http.Request) string { return "YXBwLW5vbmNl" }})
		rec := httptest.NewRecorder()
		cspPage(t, kit, "script-src 'nonce-YXBwLW5vbmNl'", "").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, "script-src 'nonce-YXBwLW5vbmNl'", rec.Header().Get("Content-Security-Policy"))
		assert.Contains(t, rec.Body.String(), `nonce="YXBwLW5vbmNl"`)
	})
	t.Run("no policy", func(t *testing.T) {
		kit := newKit(t, Config{})
		rec := httptest.NewRecorder()
		cspPage(t, kit, "", "").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.NotContains(t, rec.Body.String(), "nonce=", "no nonce without a policy to match")
	})
	t.Run("not a page", func(t *testing.T) {
		kit := newKit(t, Config{})
		rec := httptest.NewRecorder()
		h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'")
			w.Header().Set("Content-Type", "image/png")
			w.WriteHeader(http.StatusOK)
		}))
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, "default-src 'none'; img-src 'self'", rec.Header().Get("Content-Security-Policy"))
	})
}

func TestWidgetSourcesValidated(t *testing.T) {
	t.Parallel()
	for _, bad := range []map[string][]string{
		{"img-src": {"*"}},
		{"img-src": {"https:"}},
		{"img-src": {"https://*.prefinery.com"}},
		{"img-src": {"'unsafe-inline'"}},
		{"img-src": {"http://widget.prefinery.com"}},
		{"script-src": {"https://widget.prefinery.com"}},
	} {
		_, err := New(Config{EndpointOnly: true, Secret: testSecret, User: userFromContext, WidgetSources: bad})
		assert.ErrorIs(t, err, ErrInvalidConfig, "%v", bad)
	}
	kit := newKit(t, Config{User: userFromContext, ProjectKey: "ab12", WidgetSources: map[string][]string{"connect-src": {"https://api.prefinery.com", "'self'"}}})
	assert.Equal(t, "default-src 'self'; script-src 'self' 'nonce-N' https://widget.prefinery.com; connect-src 'self' https://api.prefinery.com",
		kit.csp.AmendPolicy("default-src 'self'", "N", kit.loaderSource(httptest.NewRequest("GET", "/", nil))))
}

// TestCSPParsedAsTheBrowserDoes: the kit reads a page's policy as CSP3 and
// Chromium do. A directive the browser ignores (a no-break space where a
// space should be) stays as written and stays ignored; the kit does not turn
// it into an active 'unsafe-inline' that would switch its own nonce off.
// Frames fall back to child-src before default-src.
func TestCSPParsedAsTheBrowserDoes(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	serve := func(policy string) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		cspPage(t, kit, policy, "").ServeHTTP(rec, req.WithContext(contextWithUser(req, "amy@example.com")))
		return rec.Header().Get("Content-Security-Policy")
	}
	got := serve("script-src\u00a0'self' 'unsafe-inline'; default-src 'self'")
	assert.True(t, strings.HasPrefix(got, "script-src\u00a0'self' 'unsafe-inline'; default-src 'self'; script-src 'self' 'nonce-"), got)
	assert.NotContains(t, got, "script-src 'self' 'unsafe-inline'", "the ignored directive is not made active")

	got = serve("default-src 'self'; child-src 'none'")
	assert.NotContains(t, got, "frame-src", "child-src 'none' still blocks frames")
	got = serve("default-src 'self'; child-src https://frames.example")
	assert.Contains(t, got, "frame-src https://frames.example https://widget.prefinery.com", "frame-src built from child-src")
}

// TestPathLoaderNeverAddsSelf: a loader on the app's own origin (a stand-in,
// a proxy) is added as its exact URL on the page's host, never as 'self'
// (which would let any same-origin script run, an upload among them); a
// Host that is not a plain host:port adds no source (the nonce still lets
// the loader run).
func TestPathLoaderNeverAddsSelf(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{WidgetURL: "/prefinery-standin/widget.js"})
	for _, tt := range []struct{ host, policy, want string }{
		{"app.example", "script-src 'nonce-app'", "script-src 'nonce-app' 'nonce-N' http://app.example/prefinery-standin/widget.js"},
		{"app.example:8443", "script-src 'unsafe-inline'", "script-src 'unsafe-inline' http://app.example:8443/prefinery-standin/widget.js"},
		{"evil;script-src", "script-src 'nonce-app'", "script-src 'nonce-app' 'nonce-N'"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = tt.host
		got := kit.csp.AmendPolicy(tt.policy, "N", kit.loaderSource(req))
		assert.Equal(t, tt.want, got, tt.host)
		assert.NotContains(t, got, "'self'")
	}
	tlsReq := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	assert.Equal(t, "https://app.example/prefinery-standin/widget.js", kit.loaderSource(tlsReq))
}

// TestLoaderIgnoresInjectedBase: with a loader on the app's own origin (a
// path WidgetURL), the kit renders its absolute URL on the request's host,
// so a <base href> injected into the page cannot point the nonced loader at
// another site. The control resolves the path the kit used to render against
// the same base: it would have loaded the attacker's script.
func TestLoaderIgnoresInjectedBase(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{WidgetURL: "/static/widget.js"})
	tmpl := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(
		`<html><head><base href="https://evil.example/">{{prefineryLoader .}}</head><body></body></html>`))
	for _, tt := range []struct {
		name string
		tls  bool
		want string
	}{
		{"http", false, "http://app.example/static/widget.js"},
		{"https", true, "https://app.example/static/widget.js"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			var page strings.Builder
			kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.NoError(t, tmpl.Execute(&page, r))
			})).ServeHTTP(httptest.NewRecorder(), r)
			_, srcs := inlineScripts(t, page.String())
			require.Len(t, srcs, 1)
			base, _ := url.Parse("https://evil.example/")
			loaded, err := base.Parse(srcs[0])
			require.NoError(t, err)
			assert.Equal(t, tt.want, loaded.String(), "the loader the browser fetches")
			control, _ := base.Parse(kit.cfg.WidgetURL)
			assert.Equal(t, "evil.example", control.Host, "control: the path alone follows the injected base")
		})
	}
}
