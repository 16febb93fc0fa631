package prefinery

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/justinas/alice"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertEndpointHeaders checks the headers every identity endpoint response carries.
func assertEndpointHeaders(t *testing.T, h http.Header) {
	t.Helper()
	assert.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "same-origin", h.Get("Cross-Origin-Resource-Policy"))
	assert.Contains(t, h.Values("Vary"), "Cookie")
	for name := range h {
		assert.False(t, strings.HasPrefix(name, "Access-Control-"), "no CORS header, got %s", name)
	}
}

// decodeIdentity checks a 200 body is exactly {kind, signature} and returns them.
func decodeIdentity(t *testing.T, body string) map[string]string {
	t.Helper()
	var got map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &got), "body %q", body)
	assert.Len(t, got, 2, "exactly two keys")
	return got
}

func TestIdentityEndpointStatuses(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	anon, user := app.client(), app.client()
	app.login(user, "frank@example.com")

	status, h, body := app.get(user, "/prefinery/identity")
	assert.Equal(t, http.StatusOK, status)
	assertEndpointHeaders(t, h)
	got := decodeIdentity(t, body)
	assert.Equal(t, "frank@example.com", got["email"])
	assert.Equal(t, app.kit.Sign("frank@example.com"), got["signature"])

	status, h, body = app.get(anon, "/prefinery/identity")
	assert.Equal(t, http.StatusUnauthorized, status)
	assertEndpointHeaders(t, h)
	assert.JSONEq(t, `{"error":"not signed in"}`, body)

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		req, err := http.NewRequest(method, app.server.URL+"/prefinery/identity", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		res, err := user.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if method == http.MethodOptions { // a preflight from an origin not in SPAOrigins
			assert.Equal(t, http.StatusForbidden, res.StatusCode, method)
		} else {
			assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, method)
			assert.Equal(t, "GET, HEAD", res.Header.Get("Allow"), method)
		}
		assertEndpointHeaders(t, res.Header)
		assert.NotContains(t, string(b), "signature", method)
	}
}

func TestIdentityEndpointHead(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	c := app.client()
	app.login(c, "gina@example.com")
	res, err := c.Head(app.server.URL + "/prefinery/identity")
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, b)
	assertEndpointHeaders(t, res.Header)
}

// TestIdentityEndpointIgnoresClientInput: only the session decides whose
// identity is returned.
func TestIdentityEndpointIgnoresClientInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	anon, user := app.client(), app.client()
	app.login(user, "hana@example.com")
	victim := "victim@example.com"
	attempts := []struct {
		name    string
		path    string
		headers []string
	}{
		{"query email", "/prefinery/identity?email=" + victim, nil},
		{"query identifier", "/prefinery/identity?identifier=" + victim + "&id=1&referral_code=x", nil},
		{"jsonp callback", "/prefinery/identity?callback=steal", nil},
		{"header", "/prefinery/identity", []string{"X-User-Email", victim, "X-Forwarded-User", victim}},
		{"cookie", "/prefinery/identity", []string{"Cookie", "email=" + victim + "; prefinery.identifier=" + victim}},
	}
	for _, tt := range attempts {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := app.get(user, tt.path, tt.headers...)
			require.Equal(t, http.StatusOK, status)
			assert.NotContains(t, body, victim)
			assert.NotContains(t, body, "steal")
			assert.Equal(t, "hana@example.com", decodeIdentity(t, body)["email"])
			status, _, body = app.get(anon, tt.path, tt.headers...)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.NotContains(t, body, victim)
		})
	}
	t.Run("json body", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, app.server.URL+"/prefinery/identity", strings.NewReader(`{"email":"`+victim+`"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		res, err := user.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		assert.Equal(t, "hana@example.com", decodeIdentity(t, string(b))["email"])
	})
}

func TestIdentityEndpointFetchMetadata(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	c := app.client()
	app.login(c, "ivan@example.com")
	host := strings.TrimPrefix(app.server.URL, "http://")
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no metadata (curl)", nil, 200},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"}, 200},
		{"user typed the URL", []string{"Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, 200},
		{"cross-site", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"unknown site value", []string{"Sec-Fetch-Site", "sideways"}, 403},
		{"no-cors", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "no-cors"}, 403},
		{"script dest", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Dest", "script"}, 403},
		{"image dest", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Dest", "image"}, 403},
		{"iframe dest", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Dest", "iframe"}, 403},
		{"object dest", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Dest", "object"}, 403},
		{"embed dest", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Dest", "embed"}, 403},
		{"origin matches host", []string{"Origin", "http://" + host}, 200},
		{"origin other host", []string{"Origin", "https://evil.example"}, 403},
		{"origin null", []string{"Origin", "null"}, 403},
		{"origin garbage", []string{"Origin", "::::"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := app.get(c, "/prefinery/identity", tt.headers...)
			assert.Equal(t, tt.want, status)
			assertEndpointHeaders(t, h)
			if tt.want == 403 {
				assert.JSONEq(t, `{"error":"cross-origin read refused: only the app's own pages and Config.SPAOrigins may read the identity"}`, body)
				assert.NotContains(t, body, "ivan")
			}
		})
	}
	t.Run("same-site opted in", func(t *testing.T) {
		app := newTestApp(t, func(c *Config) { c.UnsafeAllowSameSite = true })
		c := app.client()
		app.login(c, "ivan@example.com")
		status, _, _ := app.get(c, "/prefinery/identity", "Sec-Fetch-Site", "same-site")
		assert.Equal(t, 200, status)
		status, _, _ = app.get(c, "/prefinery/identity", "Sec-Fetch-Site", "cross-site")
		assert.Equal(t, 403, status)
	})
}

// reflectingCORS is the kind of permissive CORS middleware the endpoint must survive.
func reflectingCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Access-Control-Expose-Headers", "*")
		next.ServeHTTP(w, r)
	})
}

func TestIdentityEndpointStripsCORS(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: sm})
	srv := httptest.NewServer(alice.New(reflectingCORS, sm.LoadAndSave, kit.Middleware).Then(testMux(kit)))
	defer srv.Close()
	app := &testApp{t: t, kit: kit, server: srv}
	c := app.client()
	app.login(c, "jo@example.com")
	status, h, _ := app.get(c, "/prefinery/identity", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, status, "a foreign Origin is refused")
	assertEndpointHeaders(t, h)
	status, h, _ = app.get(c, "/prefinery/identity")
	assert.Equal(t, http.StatusOK, status)
	assertEndpointHeaders(t, h)
}

func TestIdentityEndpointWithoutMiddleware(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: sm})
	srv := httptest.NewServer(sm.LoadAndSave(testMux(kit))) // no kit.Middleware
	defer srv.Close()
	app := &testApp{t: t, kit: kit, server: srv}
	c := app.client()
	status, _, _ := app.get(c, "/prefinery/identity")
	assert.Equal(t, http.StatusUnauthorized, status)
	app.login(c, "kim@example.com")
	status, _, body := app.get(c, "/prefinery/identity")
	assert.Equal(t, http.StatusOK, status)
	got := decodeIdentity(t, body)
	assert.Equal(t, "kim@example.com", got["email"])
	assert.Equal(t, kit.Sign("kim@example.com"), got["signature"])
}

func TestIdentityEndpointWithoutLoadAndSave(t *testing.T) {
	t.Parallel()
	logger, logs := testLogger()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: scs.New(), Logger: logger})
	srv := httptest.NewServer(kit.IdentityHandler())
	defer srv.Close()
	app := &testApp{t: t, kit: kit, server: srv}
	status, h, body := app.get(app.client(), "/", "Cookie", "session=forged-token")
	assert.Equal(t, http.StatusInternalServerError, status)
	assertEndpointHeaders(t, h)
	assert.JSONEq(t, `{"error":"server misconfigured"}`, body)
	assert.Contains(t, logs.String(), "LoadAndSave")
}

func TestIdentityEndpointForgedAndExpiredSessions(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *Config) { c.Sessions.Lifetime = 0 })
	for _, cookie := range []string{"session=forged", "session=" + strings.Repeat("A", 43), "session=", "session=%00%ff"} {
		status, _, body := app.get(app.client(), "/prefinery/identity", "Cookie", cookie)
		assert.Equal(t, http.StatusUnauthorized, status, cookie)
		assert.NotContains(t, body, "signature")
	}
	// Expired: the store no longer has the session.
	c := app.client()
	app.login(c, "lee@example.com")
	app.sessions.Store.(*memstore.MemStore).Delete(sessionToken(t, c, app))
	status, _, _ := app.get(c, "/prefinery/identity")
	assert.Equal(t, http.StatusUnauthorized, status)
}

func sessionToken(t *testing.T, c *http.Client, app *testApp) string {
	req, err := http.NewRequest(http.MethodGet, app.server.URL, nil)
	require.NoError(t, err)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// TestIdentityEndpointStoreFailure: a failing session store gives a generic
// JSON 500 through the kit's scs ErrorFunc, logged without identifiers.
func TestIdentityEndpointStoreFailure(t *testing.T) {
	t.Parallel()
	store := &flakyStore{Store: memstore.New()}
	app := newTestApp(t, func(c *Config) { c.Sessions.Store = store })
	app.sessions.ErrorFunc = app.kit.SessionErrorFunc
	c := app.client()
	app.login(c, "mia@example.com")
	store.fail.Store(true)
	status, h, body := app.get(c, "/prefinery/identity")
	assert.Equal(t, http.StatusInternalServerError, status)
	assertEndpointHeaders(t, h)
	assert.JSONEq(t, `{"error":"internal server error"}`, body)
	logs := app.log.String()
	assert.Contains(t, logs, "session store failed")
	assert.NotContains(t, logs, "mia@example.com")
	assert.NotContains(t, logs, testSecret)
	store.fail.Store(false)
	status, _, body = app.get(c, "/prefinery/identity")
	assert.Equal(t, http.StatusOK, status, "the same cookie works once the store is back")
	assert.Equal(t, "mia@example.com", decodeIdentity(t, body)["email"])
}
