package prefinery

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMiddlewareSignedInAndAnonymous(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	anon, alice := app.client(), app.client()
	app.login(alice, "alice@example.com")

	status, h, body := app.get(anon, "/whoami")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "anonymous", body)
	assert.NotContains(t, h.Get("Cache-Control"), "private", "anonymous pages keep the app's caching")

	_, h, body = app.get(alice, "/whoami")
	assert.Equal(t, "email\talice@example.com\t"+app.kit.Sign("alice@example.com"), body)
	assert.Equal(t, "no-store", h.Get("Cache-Control"), "a response that read the identity is no-store")
}

func TestMiddlewareLoginLaterRequestLogout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	c := app.client()
	_, _, body := app.get(c, "/whoami")
	require.Equal(t, "anonymous", body)
	app.login(c, "bob@example.com")
	for range 3 { // later requests on the same cookie
		_, _, body = app.get(c, "/whoami")
		assert.True(t, strings.HasPrefix(body, "email\tbob@example.com\t"), "got %q", body)
	}
	require.Equal(t, http.StatusOK, app.post(c, "/logout"))
	_, _, body = app.get(c, "/whoami")
	assert.Equal(t, "anonymous", body)
}

func TestMiddlewareKinds(t *testing.T) {
	t.Parallel()
	for _, kind := range []Kind{KindEmail, KindReferralCode, KindID} {
		t.Run(string(kind), func(t *testing.T) {
			app := newTestApp(t, func(c *Config) { c.Kind = kind })
			c := app.client()
			app.login(c, "XyZ123")
			_, _, body := app.get(c, "/whoami")
			assert.Equal(t, string(kind)+"\tXyZ123\t"+app.kit.Sign("XyZ123"), body)
			_, _, body = app.get(c, "/prefinery/identity")
			assert.JSONEq(t, `{"`+string(kind)+`":"XyZ123","signature":"`+app.kit.Sign("XyZ123")+`"}`, body)
		})
	}
}

// TestMiddlewareSignsLazily proves, with the kit's HMAC counter, that the
// signature is computed only when read, and at most once per request.
func TestMiddlewareSignsLazily(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	c := app.client()
	app.login(c, "lazy@example.com")
	tests := []struct {
		path string
		want int64
	}{
		{"/ignore", 0},
		{"/whoami", 1},
		{"/twice", 1},
		{"/prefinery/identity", 1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := app.signs.Load()
			app.get(c, tt.path)
			assert.Equal(t, tt.want, app.signs.Load()-before, "HMACs computed for %s", tt.path)
		})
	}
	_, _, body := app.get(c, "/twice")
	parts := strings.Split(body, "\t")
	require.Len(t, parts, 2)
	assert.Equal(t, parts[0], parts[1])
}

func TestMiddlewareUserFunc(t *testing.T) {
	t.Parallel()
	// The app's own auth: here a header set by a trusted front proxy in a test.
	kit := newKit(t, Config{EndpointOnly: true, User: func(r *http.Request) (string, bool) {
		u, ok := r.Context().Value(ctxUserKey{}).(string)
		return u, ok
	}})
	var got Identity
	var ok bool
	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, ok = kit.templateIdentity(r) }))

	req := httptest.NewRequest(http.MethodGet, "/?email=victim@example.com", nil)
	h.ServeHTTP(httptest.NewRecorder(), req)
	assert.False(t, ok, "nobody signed in: no identity, whatever the query says")

	req = req.WithContext(context.WithValue(req.Context(), ctxUserKey{}, "carol@example.com"))
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.True(t, ok)
	assert.Equal(t, Identity{Kind: KindEmail, Identifier: "carol@example.com", Signature: kit.Sign("carol@example.com")}, got)
}

type ctxUserKey struct{}

// TestMiddlewareLooksUpTheUserWhenFirstNeeded counts Config.User calls: none
// for a response that cannot carry the identity and never read it, one for a
// page (its protections depend on who is signed in), one however often the
// identity is read.
func TestMiddlewareLooksUpTheUserWhenFirstNeeded(t *testing.T) {
	t.Parallel()
	var lookups atomic.Int64
	kit := newKit(t, Config{EndpointOnly: true, User: func(r *http.Request) (string, bool) {
		lookups.Add(1)
		return "dave@example.com", true
	}})
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    int64
	}{
		{"json, not read", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		}, 0},
		{"page, not read", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<p>hi</p>`))
		}, 1},
		{"read three times", func(w http.ResponseWriter, r *http.Request) {
			for range 3 {
				_, _ = kit.Identity(r.Context())
			}
			_, _ = w.Write([]byte(`<p>hi</p>`))
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookups.Store(0)
			rec := httptest.NewRecorder()
			kit.Middleware(tt.handler).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.Equal(t, tt.want, lookups.Load())
			if tt.want > 0 {
				assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			}
		})
	}
}

// TestMiddlewareSignsTheSessionAsFirstRead: the identifier is read from the
// session when first needed, so an app that writes its session key itself
// before rendering gets that user; once read, the request keeps it (only
// Login and Logout change it), so everything one page renders agrees.
func TestMiddlewareSignsTheSessionAsFirstRead(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: sm, SessionKey: "user"})
	var first, second Identity
	h := sm.LoadAndSave(kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", "erin@example.com")
		first, _ = kit.Identity(r.Context())
		sm.Put(r.Context(), "user", "frank@example.com")
		second, _ = kit.Identity(r.Context())
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "erin@example.com", first.Identifier)
	assert.Equal(t, first, second)
}

func TestMiddlewareRefusesBadIdentifiers(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, value, reason string }{
		{"invalid utf-8", "a\xffb@x.com", "not valid UTF-8"},
		{"overlong encoding", "\xc0\xaf@x.com", "not valid UTF-8"},
		{"surrogate", "\xed\xa0\x80@x.com", "not valid UTF-8"},
		{"nul", "a\x00b@x.com", "control character"},
		{"newline", "a\nb@x.com", "control character"},
		{"c1 control", "a\u0085b@x.com", "control character"},
		{"too long", strings.Repeat("a", 321), "over the limit of 320"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := testLogger()
			kit := newKit(t, Config{EndpointOnly: true, User: func(*http.Request) (string, bool) { return tt.value, true }, Logger: logger})
			called := false
			h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				_, ok := kit.templateIdentity(r)
				assert.False(t, ok, "a refused identifier is treated as signed out")
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
			assert.True(t, called, "the app keeps working")
			assert.Contains(t, logs.String(), tt.reason)
			assert.NotContains(t, logs.String(), tt.value[:3], "the log never quotes the identifier")
		})
	}
}

func TestMiddlewareWithoutLoadAndSave(t *testing.T) {
	t.Parallel()
	logger, logs := testLogger()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: scs.New(), Logger: logger})
	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := kit.templateIdentity(r)
		assert.False(t, ok)
	}))
	for range 3 {
		assert.NotPanics(t, func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) })
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "LoadAndSave"), "misconfiguration logged once")
}

// TestMiddlewareConcurrentUsers runs many browsers at once (use -race): each
// sees only its own identity.
func TestMiddlewareConcurrentUsers(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	const users = 24
	var wg sync.WaitGroup
	for u := range users {
		wg.Go(func() {
			c := app.client()
			email := "user" + strconv.Itoa(u) + "@example.com"
			app.login(c, email)
			for range 10 {
				_, _, body := app.get(c, "/whoami")
				if !assert.Equal(t, "email\t"+email+"\t"+app.kit.Sign(email), body) {
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMiddlewareIsAliceConstructor(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: scs.New()})
	var _ alice.Constructor = kit.Middleware
}

// TestTwoKitsKeepTheirOwnIdentities: an app with two Prefinery projects (two
// Kits, two session keys) chained on one request. Each Kit's accessor, template
// functions and endpoint see only the identity its own middleware attached.
func TestTwoKitsKeepTheirOwnIdentities(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	kitA := newKit(t, Config{Sessions: sm, SessionKey: "projectA", ProjectKey: "aaaa1111"})
	kitB := newKit(t, Config{Secret: mustSecret(vendorSecretText), Sessions: sm, SessionKey: "projectB", Kind: KindReferralCode, ProjectKey: "bbbb2222"})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, kitA.Login(r.Context(), "ann@example.com"))
		sm.Put(r.Context(), "projectB", "REFB42") // project B knows her by referral code
	})
	page := func(kit *Kit) http.HandlerFunc {
		tmpl := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`{{prefineryIdentifier .}}|{{prefinerySignature .}}`))
		return func(w http.ResponseWriter, r *http.Request) { require.NoError(t, tmpl.Execute(w, r)) }
	}
	mux.Handle("GET /a", page(kitA))
	mux.Handle("GET /b", page(kitB))
	mux.Handle("GET /a/identity", kitA.IdentityHandler())
	mux.Handle("GET /b/identity", kitB.IdentityHandler())
	srv := httptest.NewServer(sm.LoadAndSave(kitA.Middleware(kitB.Middleware(mux))))
	t.Cleanup(srv.Close)
	app := &testApp{t: t, server: srv}
	c := app.client()
	require.Equal(t, http.StatusOK, app.post(c, "/login"))

	_, _, body := app.get(c, "/a")
	assert.Equal(t, "ann@example.com|"+testSecret.key.Sign("ann@example.com"), body)
	_, _, body = app.get(c, "/b")
	assert.Equal(t, "REFB42|"+mustSecret(vendorSecretText).key.Sign("REFB42"), body)
	_, _, body = app.get(c, "/a/identity")
	assert.JSONEq(t, `{"email":"ann@example.com","signature":"`+testSecret.key.Sign("ann@example.com")+`"}`, body)
	_, _, body = app.get(c, "/b/identity")
	assert.JSONEq(t, `{"referral_code":"REFB42","signature":"`+mustSecret(vendorSecretText).key.Sign("REFB42")+`"}`, body)

	// Kit A's identity is invisible to a request that only passed kit B.
	onlyB := kitB.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, okA := kitA.Identity(r.Context())
		_, okB := kitB.Identity(r.Context())
		assert.False(t, okA, "kit A sees no identity it did not attach")
		assert.True(t, okB)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	ctx, err := sm.Load(req.Context(), "")
	require.NoError(t, err)
	sm.Put(ctx, "projectA", "ann@example.com")
	sm.Put(ctx, "projectB", "REFB42")
	onlyB.ServeHTTP(httptest.NewRecorder(), req.WithContext(ctx))
}

// TestLoginPerRequestDropsRevalidation: with Login called per request from
// the app's auth middleware (inside kit.Middleware), the user is named after
// the middleware looked: a page's If-None-Match must still go, or the app
// answers 304 and the browser shows what it kept from before the sign-in.
// Controls: a signed-out request keeps it (304), and so does an image.
func TestLoginPerRequestDropsRevalidation(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{EndpointOnly: true}, func(c *Config) { c.User = nil })
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "alice" {
				require.NoError(t, kit.Login(r.Context(), "alice@example.com"))
			}
			next.ServeHTTP(w, r)
		})
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, "<p>account</p>")
	})
	h := kit.Middleware(auth(page))
	for _, tt := range []struct {
		name, user, dest string
		want             int
	}{
		{"signed in by the auth middleware", "alice", "document", http.StatusOK},
		{"signed out (control)", "", "document", http.StatusNotModified},
		{"an image keeps its revalidation (control)", "alice", "image", http.StatusNotModified},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/account", nil)
			r.Header.Set("If-None-Match", `"v1"`)
			r.Header.Set("Sec-Fetch-Dest", tt.dest)
			if tt.user != "" {
				r.Header.Set("Authorization", tt.user)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			assert.Equal(t, tt.want, rec.Code)
		})
	}
}
