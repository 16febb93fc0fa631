package prefinery

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/prefinerykit/prefinery/internal/secret"
	"github.com/prefinerykit/prefinery/internal/testlog"
	"github.com/stretchr/testify/require"
)

// The package's tests see New as any other binary does: no test secret or
// stand-in without the environment (TestTestBinaryDefaults covers them).
func init() { inTestBinary = func() bool { return false } }

// testSecretText is a throwaway secret for tests; never a real project's.
const testSecretText = "test-secret-0123456789-abcdefghij"

// testSecret is testSecretText as a Secret.
var testSecret = mustSecret(testSecretText)

// vendorSecretText is the example secret from Prefinery's documentation.
const vendorSecretText = "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw"

// mustSecret wraps a test secret, panicking on a bad constant.
func mustSecret(s string) Secret {
	secret, err := NewSecret(s)
	if err != nil {
		panic(err)
	}
	return secret
}

// syncBuffer is the tests' log sink.
type syncBuffer = testlog.Buffer

// testLogger returns a JSON slog logger writing into a buffer.
func testLogger() (*slog.Logger, *syncBuffer) { return testlog.New() }

// testApp is a small app wired as the README says: scs LoadAndSave, then the
// kit's middleware, on a stdlib mux, served over a real loopback server.
type testApp struct {
	t        *testing.T
	kit      *Kit
	sessions *scs.SessionManager
	server   *httptest.Server
	log      *syncBuffer
	signs    atomic.Int64 // Kit.Sign calls, remembered signatures included (countSigns)
}

// newTestApp starts the app; edit adjusts the Config before New.
func newTestApp(t *testing.T, edit func(*Config)) *testApp {
	t.Helper()
	logger, logBuf := testLogger()
	app := &testApp{t: t, sessions: scs.New(), log: logBuf}
	kit := newKit(t, Config{Secret: countingSecret(&app.signs), Sessions: app.sessions, Logger: logger}, edit)
	app.kit = kit
	app.server = httptest.NewServer(alice.New(app.sessions.LoadAndSave, kit.Middleware).Then(testMux(kit)))
	t.Cleanup(app.server.Close)
	return app
}

// testMux is the test app's routes: login and logout through the kit, pages
// that show or ignore the identity, and the identity endpoint. Callers choose
// the middleware chain in front of it.
func testMux(kit *Kit) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Login(r.Context(), r.FormValue("identifier")); err != nil {
			http.Error(w, "login refused", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Logout(r.Context()); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		id, ok := kit.Identity(r.Context())
		if !ok {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		_, _ = io.WriteString(w, string(id.Kind)+"\t"+id.Identifier+"\t"+id.Signature)
	})
	mux.HandleFunc("GET /twice", func(w http.ResponseWriter, r *http.Request) {
		a, _ := kit.Identity(r.Context())
		b, _ := kit.templateIdentity(r)
		_, _ = io.WriteString(w, a.Signature+"\t"+b.Signature)
	})
	mux.HandleFunc("GET /ignore", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "did not look")
	})
	mux.Handle("/prefinery/identity", kit.IdentityHandler())
	return mux
}

// client returns an HTTP client with its own cookie jar (one browser).
func (a *testApp) client() *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(a.t, err)
	return &http.Client{Jar: jar}
}

// login signs identifier in on c's session.
func (a *testApp) login(c *http.Client, identifier string) {
	a.t.Helper()
	res, err := c.PostForm(a.server.URL+"/login", url.Values{"identifier": {identifier}})
	require.NoError(a.t, err)
	defer res.Body.Close()
	require.Equal(a.t, http.StatusOK, res.StatusCode, "login of a valid identifier")
}

// get fetches path with c and returns the status, headers and body.
func (a *testApp) get(c *http.Client, path string, headers ...string) (int, http.Header, string) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.server.URL+path, nil)
	require.NoError(a.t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	require.NoError(a.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	return res.StatusCode, res.Header, string(body)
}

// post sends an empty form POST to path.
func (a *testApp) post(c *http.Client, path string) int {
	a.t.Helper()
	res, err := c.Post(a.server.URL+path, "application/x-www-form-urlencoded", strings.NewReader(""))
	require.NoError(a.t, err)
	defer res.Body.Close()
	return res.StatusCode
}

// contextWithUser plants identifier for userFromContext.
func contextWithUser(r *http.Request, identifier string) context.Context {
	return context.WithValue(r.Context(), ctxUserKey{}, identifier)
}

// hijacker takes over the connection and answers "hijacked" itself, as a
// websocket upgrade would: a wrapped writer must still let it.
func hijacker(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := w.(http.Hijacker)
		require.True(t, ok, "http.Hijacker")
		conn, buf, err := h.Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = buf.Flush()
	}
}

// uncheckedSecret wraps key without NewSecret's policy checks, for
// known-answer vectors with short keys.
func uncheckedSecret(key string) Secret { return Secret{key: secret.New(key)} }

// countingSecret is the test secret, counting into n each Kit.Sign (a
// remembered signature counts too) of the Kits that use it.
func countingSecret(n *atomic.Int64) Secret {
	return Secret{key: secret.NewObserved(testSecretText, func() { n.Add(1) })}
}

// newKit returns a Kit for a test: cfg with the test's defaults where it
// leaves them out (the test secret; a user from the request context when it
// names no way to find one; a project key when it names no loader and is not
// EndpointOnly), then each edit applied. The test fails if New refuses it.
func newKit(t testing.TB, cfg Config, edits ...func(*Config)) *Kit {
	t.Helper()
	if cfg.Secret.isZero() {
		cfg.Secret = testSecret
	}
	if cfg.Sessions == nil && cfg.User == nil {
		cfg.User = userFromContext
	}
	if cfg.ProjectKey == "" && cfg.WidgetURL == "" && !cfg.EndpointOnly {
		cfg.ProjectKey = "ab12cd34"
	}
	for _, edit := range edits {
		if edit != nil {
			edit(&cfg)
		}
	}
	kit, err := New(cfg)
	require.NoError(t, err)
	return kit
}
