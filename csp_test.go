package prefinery

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
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
		kit.csp.AmendPolicy("default-src 'self'", "N"))
}
