package prefinery

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bearerUser is the app's own bearer-token auth, as a JSON API has it: the
// token names the user, no cookie is involved.
func bearerUser(r *http.Request) (string, bool) {
	switch r.Header.Get("Authorization") {
	case "Token alice-token":
		return "alice@example.com", true
	case "Token bob-token":
		return "bob@example.com", true
	}
	return "", false
}

// spaServer is an API behind kit.Middleware and a CORS middleware that
// reflects every origin (the widening a careless CORS setup does), serving
// the identity endpoint; the kit trusts spa.
func spaServer(t *testing.T, spa string, cookies bool, logger *slog.Logger) *httptest.Server {
	t.Helper()
	kit := newKit(t, Config{EndpointOnly: true, User: bearerUser, SPAOrigins: []string{spa}, SPAOriginsSendCookies: cookies, Logger: logger})
	reflectAll := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o := r.Header.Get("Origin"); o != "" {
				w.Header().Set("Access-Control-Allow-Origin", o)
				w.Header().Set("Access-Control-Allow-Credentials", "true")
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(reflectAll(kit.Middleware(kit.IdentityHandler())))
	t.Cleanup(srv.Close)
	return srv
}

// TestSPAOriginsReadTheirUsersIdentity: an SPA on a trusted origin reads its
// own user's identity with a bearer token, same-site or cross-site, with a
// grant for that origin alone; its preflight is answered; signed out is a
// readable 401. An untrusted origin is refused with its reason logged once at
// WARN (and the JSON body says why), even though the app's CORS middleware
// reflects it; a non-browser client sending a foreign Origin is refused the
// same way; cookies are granted only with SPAOriginsSendCookies.
func TestSPAOriginsReadTheirUsersIdentity(t *testing.T) {
	t.Parallel()
	const spa = "https://spa.example.com"
	logger, logs := testLogger()
	srv := spaServer(t, spa, false, logger)
	get := func(origin, site, token string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
			req.Header.Set("Sec-Fetch-Mode", "cors")
			req.Header.Set("Sec-Fetch-Dest", "empty")
		}
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	for _, tt := range []struct {
		name, origin, site, token string
		status                    int
		granted                   bool
		user                      string
	}{
		{"trusted, cross-site", spa, "cross-site", "alice-token", http.StatusOK, true, "alice@example.com"},
		{"trusted, same-site", spa, "same-site", "bob-token", http.StatusOK, true, "bob@example.com"},
		{"trusted, signed out", spa, "cross-site", "", http.StatusUnauthorized, true, ""},
		{"trusted, non-browser client", spa, "", "alice-token", http.StatusOK, true, "alice@example.com"},
		{"untrusted (control)", "https://evil.example", "cross-site", "alice-token", http.StatusForbidden, false, ""},
		{"untrusted, same scheme and host, other port", "https://spa.example.com:8443", "same-site", "alice-token", http.StatusForbidden, false, ""},
		{"untrusted, non-browser client", "https://evil.example", "", "alice-token", http.StatusForbidden, false, ""},
		{"same origin, no Origin", "", "same-origin", "alice-token", http.StatusOK, false, "alice@example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(tt.origin, tt.site, tt.token)
			assert.Equal(t, tt.status, res.StatusCode, body)
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			assert.Empty(t, res.Header.Get("Access-Control-Allow-Credentials"), "no cookies unless asked")
			if tt.granted {
				assert.Equal(t, tt.origin, res.Header.Get("Access-Control-Allow-Origin"))
				assert.Contains(t, strings.Join(res.Header.Values("Vary"), ","), "Origin")
			} else {
				assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "the reflecting CORS middleware never widens the endpoint")
			}
			if tt.user != "" {
				assert.Equal(t, tt.user, decodeIdentity(t, body)["email"])
			} else {
				assert.NotContains(t, body, "signature")
			}
			if tt.status == http.StatusForbidden {
				assert.Contains(t, body, "Config.SPAOrigins")
			}
		})
	}
	assert.Equal(t, 1, strings.Count(logs.String(), `"level":"WARN"`), "refusals logged once at WARN:\n%s", logs.String())
	assert.Contains(t, logs.String(), `"origin":"https://evil.example"`)
	assert.Contains(t, logs.String(), "add it to Config.SPAOrigins")

	t.Run("preflight", func(t *testing.T) {
		for _, tt := range []struct {
			name, origin, method, headers string
			status                        int
		}{
			{"trusted, GET with Authorization", spa, "GET", "authorization", http.StatusNoContent},
			{"untrusted (control)", "https://evil.example", "GET", "authorization", http.StatusForbidden},
			{"trusted, a method it does not answer", spa, "DELETE", "", http.StatusForbidden},
			{"trusted, other headers", spa, "GET", "authorization, x-anything", http.StatusForbidden},
		} {
			t.Run(tt.name, func(t *testing.T) {
				req, err := http.NewRequest(http.MethodOptions, srv.URL, nil)
				require.NoError(t, err)
				req.Header.Set("Origin", tt.origin)
				req.Header.Set("Access-Control-Request-Method", tt.method)
				if tt.headers != "" {
					req.Header.Set("Access-Control-Request-Headers", tt.headers)
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				assert.Equal(t, tt.status, res.StatusCode)
				if tt.status == http.StatusNoContent {
					assert.Equal(t, spa, res.Header.Get("Access-Control-Allow-Origin"))
					assert.Equal(t, "Authorization", res.Header.Get("Access-Control-Allow-Headers"))
					assert.Empty(t, res.Header.Get("Access-Control-Allow-Credentials"))
				} else {
					assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
				}
			})
		}
	})

	t.Run("cookies only when asked", func(t *testing.T) {
		srv := spaServer(t, spa, true, nil)
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", spa)
		req.Header.Set("Authorization", "Token alice-token")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	})
}

// TestSPAOriginsValidated: only exact origins, as the Origin header sends
// them, are accepted.
func TestSPAOriginsValidated(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		origins []string
		cookies bool
		ok      bool
	}{
		{[]string{"https://spa.example.com"}, false, true},
		{[]string{"http://localhost:5173"}, true, true},
		{[]string{"https://*.example.com"}, false, false},
		{[]string{"https://spa.example.com/"}, false, false},
		{[]string{"https://spa.example.com/app"}, false, false},
		{[]string{"https://SPA.example.com"}, false, false},
		{[]string{"spa.example.com"}, false, false},
		{[]string{"null"}, false, false},
		{[]string{"*"}, false, false},
		{nil, true, false},
	} {
		_, err := New(Config{Secret: testSecret, EndpointOnly: true, User: bearerUser, SPAOrigins: tt.origins, SPAOriginsSendCookies: tt.cookies})
		if tt.ok {
			assert.NoError(t, err, "%q", tt.origins)
		} else {
			assert.ErrorIs(t, err, ErrInvalidConfig, "%q", tt.origins)
		}
	}
}
