package prefinery

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/prefinerykit/prefinery/internal/cachecontrol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoNormalisation: look-alike identifiers that strings.ToLower would merge
// stay distinct users with distinct signatures, and are emitted as signed.
func TestNoNormalisation(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"\u212a@x.com", "k@x.com"},        // Kelvin sign vs k
		{"\u0130nfo@x.com", "info@x.com"},  // dotted capital I vs i
		{"User@x.com", "user@x.com"},       // case
		{" user@x.com", "user@x.com"},      // whitespace
		{"e\u0301@x.com", "\u00e9@x.com"},  // decomposed vs precomposed é
		{"user@x.com\u200b", "user@x.com"}, // zero-width space
		{"ｕｓｅｒ@x.com", "user@x.com"},       // full-width
	}
	kit := newKit(t, Config{})
	for _, p := range pairs {
		a := renderFor(t, kit, p[0], func(r *http.Request) string {
			id, _ := kit.templateIdentity(r)
			return id.Identifier + "\t" + id.Signature
		})
		b := renderFor(t, kit, p[1], func(r *http.Request) string {
			id, _ := kit.templateIdentity(r)
			return id.Identifier + "\t" + id.Signature
		})
		assert.Equal(t, p[0]+"\t"+kit.Sign(p[0]), a, "%q is emitted as signed", p[0])
		assert.NotEqual(t, a, b, "%q and %q stay two users", p[0], p[1])
	}
}

// TestCrossOriginProtectionIsNotEnough documents why the endpoint checks Fetch
// Metadata itself: Go's CrossOriginProtection lets every GET through.
func TestCrossOriginProtectionIsNotEnough(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{EndpointOnly: true, User: func(*http.Request) (string, bool) { return "v@x.com", true }})
	cop := http.NewCrossOriginProtection()
	srv := httptest.NewServer(cop.Handler(kit.IdentityHandler()))
	defer srv.Close()
	app := &testApp{t: t, kit: kit, server: srv}
	status, _, body := app.get(http.DefaultClient, "/", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, status, "refused by the kit, not by CrossOriginProtection")
	assert.NotContains(t, body, "v@x.com")
	plain := httptest.NewServer(cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "secret data") })))
	defer plain.Close()
	res, err := http.DefaultClient.Do(func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, plain.URL, nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		return req
	}())
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "CrossOriginProtection alone lets a cross-site GET through")
}

// sharedCache is a small caching reverse proxy that behaves like a CDN which
// ignores Vary: it caches 200 GET responses by URL unless Cache-Control says
// private or no-store.
type sharedCache struct {
	mu      sync.Mutex
	backend http.Handler
	entries map[string]cachedResponse
}

type cachedResponse struct {
	header http.Header
	body   []byte
}

func (c *sharedCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	hit, ok := c.entries[r.URL.String()]
	c.mu.Unlock()
	if ok && r.Method == http.MethodGet {
		for k, v := range hit.header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Cache", "HIT")
		_, _ = w.Write(hit.body)
		return
	}
	rec := httptest.NewRecorder()
	c.backend.ServeHTTP(rec, r)
	res := rec.Result()
	cc := res.Header.Get("Cache-Control")
	if r.Method == http.MethodGet && res.StatusCode == http.StatusOK && cachecontrol.SharedCacheMayStore(cc) {
		c.mu.Lock()
		c.entries[r.URL.String()] = cachedResponse{header: res.Header.Clone(), body: rec.Body.Bytes()}
		c.mu.Unlock()
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(rec.Body.Bytes())
}

// TestSharedCacheNeverServesAnotherUsersSignature puts two users through a
// caching proxy: each always gets their own signature. A control page without
// the kit shows the proxy would have leaked.
func TestSharedCacheNeverServesAnotherUsersSignature(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"", "no-store, private, max-age=0"} {
		t.Run("CacheControl="+cc, func(t *testing.T) {
			sm := scs.New()
			kit := newKit(t, Config{Sessions: sm, ProjectKey: "ab12cd34", CacheControl: cc})
			page := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=600") // an app that wants its pages cached
				snippet, err := kit.embed(r)
				require.NoError(t, err)
				_, _ = io.WriteString(w, "<html><head>"+string(snippet)+"</head></html>")
			}
			mux := http.NewServeMux()
			mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
				require.NoError(t, kit.Login(r.Context(), r.FormValue("identifier")))
			})
			mux.HandleFunc("GET /page", page)
			// The control page is mounted without the kit.
			control := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=600")
				_, _ = io.WriteString(w, sm.GetString(r.Context(), defaultSessionKey))
			}))
			top := http.NewServeMux()
			top.Handle("/", alice.New(sm.LoadAndSave, kit.Middleware).Then(mux))
			top.Handle("GET /control", control)
			cache := &sharedCache{entries: map[string]cachedResponse{}}
			cache.backend = top
			srv := httptest.NewServer(cache)
			defer srv.Close()
			app := &testApp{t: t, kit: kit, server: srv}
			alice, bob := app.client(), app.client()
			app.login(alice, "alice@example.com")
			app.login(bob, "bob@example.com")
			for range 3 {
				for _, u := range []struct {
					c     *http.Client
					email string
				}{{alice, "alice@example.com"}, {bob, "bob@example.com"}} {
					_, h, body := app.get(u.c, "/page")
					assert.Contains(t, body, kit.Sign(u.email), "%s gets their own signature", u.email)
					assert.Empty(t, h.Get("X-Cache"), "never served from the shared cache")
					want := "no-store"
					if cc != "" {
						want = cc
					}
					assert.Equal(t, want, h.Get("Cache-Control"))
				}
			}
			// Control: the same proxy does leak a page the kit did not mark.
			_, _, first := app.get(alice, "/control")
			_, h, second := app.get(bob, "/control")
			assert.Equal(t, "HIT", h.Get("X-Cache"))
			assert.Equal(t, first, second, "the control page leaked through the cache, as expected without the kit")
		})
	}
}

// TestRotateUnderLoad rotates the secret while requests run (use -race):
// every response is signed wholly with one of the secrets, and a request's
// template and endpoint agree.
func TestRotateUnderLoad(t *testing.T) {
	t.Parallel()
	secrets := []Secret{testSecret, mustSecret("second-secret-0123456789abcdef"), mustSecret("third-secret-0123456789abcdefgh")}
	kit := newKit(t, Config{})
	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := kit.templateIdentity(r)
		snippet, _ := kit.embed(r)
		again, _ := kit.templateIdentity(r)
		_, _ = io.WriteString(w, id.Identifier+"\t"+id.Signature+"\t"+again.Signature+"\t"+string(snippet))
	}))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				require.NoError(t, kit.Rotate(secrets[i%len(secrets)]))
			}
		}
	})
	var workers sync.WaitGroup
	for g := range 8 {
		workers.Go(func() {
			for i := range 300 {
				email := "u" + strconv.Itoa(g) + "-" + strconv.Itoa(i) + "@x.com"
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req = req.WithContext(contextWithUser(req, email))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				parts := strings.SplitN(rec.Body.String(), "\t", 4)
				if !assert.Len(t, parts, 4) {
					return
				}
				assert.Equal(t, parts[1], parts[2], "one signature per request")
				assert.Contains(t, parts[3], parts[1], "the snippet carries the same signature")
				matches := 0
				for _, s := range secrets {
					if s.key.Sign(email) == parts[1] {
						matches++
					}
				}
				assert.Equal(t, 1, matches, "signed with exactly one of the secrets")
			}
		})
	}
	workers.Wait()
	close(stop)
	wg.Wait()
	assert.ErrorIs(t, kit.Rotate(Secret{}), ErrInvalidSecret, "no secret is refused")
	require.NoError(t, kit.Rotate(secrets[0]))
	assert.Equal(t, secrets[0].key.Sign("a@b.c"), kit.Sign("a@b.c"), "the old secret stays after a refused rotation")
}

// TestThousandConcurrentUsers: 1,000 goroutines, each a distinct user,
// signing and rendering at once (use -race); every response carries its own
// user's signature and nobody else's.
func TestThousandConcurrentUsers(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{Nonce: func(*http.Request) string { return "bm9uY2U" }})
	endpoint := kit.Middleware(kit.IdentityHandler())
	page := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snippet, err := kit.embed(r)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = io.WriteString(w, string(snippet))
	}))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for u := range 1000 {
		wg.Go(func() {
			email := "user" + strconv.Itoa(u) + "@example.com"
			sig := kit.Sign(email)
			<-start
			for _, h := range []http.Handler{page, endpoint} {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req = req.WithContext(context.WithValue(req.Context(), ctxUserKey{}, email))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				body := rec.Body.Bytes()
				assert.True(t, bytes.Contains(body, []byte(sig)), "%s gets its signature", email)
				assert.Equal(t, 1, bytes.Count(body, []byte(`@example.com"`)), "and only its own identity")
			}
		})
	}
	close(start)
	wg.Wait()
}

// TestRotateMidRequest pins when a request's signature is taken: with the
// secret current at the first read, and never changed by a later Rotate.
func TestRotateMidRequest(t *testing.T) {
	t.Parallel()
	second := mustSecret("second-secret-0123456789abcdef")
	tests := []struct {
		name       string
		readBefore bool // the handler reads the identity before the Rotate
		want       Secret
	}{
		{"read before the rotation keeps the old secret", true, testSecret},
		{"first read after the rotation takes the new secret", false, second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kit := newKit(t, Config{})
			var first, last Identity
			h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.readBefore {
					first, _ = kit.templateIdentity(r)
				}
				require.NoError(t, kit.Rotate(second))
				last, _ = kit.templateIdentity(r)
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			h.ServeHTTP(httptest.NewRecorder(), req.WithContext(contextWithUser(req, "amy@example.com")))
			if tt.readBefore {
				assert.Equal(t, first.Signature, last.Signature, "one signature per request")
			}
			assert.Equal(t, tt.want.key.Sign("amy@example.com"), last.Signature)
		})
	}
}

// TestNoncedPageNotSharedCached: a signed-out page that the app marks
// public, max-age under a CSP gets the kit's nonce, and so becomes private:
// behind a cache that serves one copy to everyone, each visitor still gets a
// nonce of their own. A Cache-Control that does not parse ("public;
// max-age=600", which nginx reads leniently as public) fails closed. The
// control (the same page with a nonce of the app's, without the kit) shows
// the cache handing one nonce to every visitor.
func TestNoncedPageNotSharedCached(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ appCacheControl, want string }{
		{"public, max-age=600", "private, max-age=600"},
		{"public; max-age=600", "private"},
	} {
		t.Run(tt.appCacheControl, func(t *testing.T) {
			t.Parallel()
			kit := newKit(t, Config{Sessions: scs.New()})
			tmpl := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`<html><head>{{prefineryEmbed .}}</head><body>welcome</body></html>`))
			page := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Security-Policy", "script-src 'self'")
				w.Header().Set("Cache-Control", tt.appCacheControl)
				w.Header().Set("Surrogate-Control", "max-age=3600")
				require.NoError(t, tmpl.Execute(w, r))
			}
			var appNonces atomic.Int64
			control := func(w http.ResponseWriter, r *http.Request) {
				nonce := strconv.FormatInt(appNonces.Add(1), 10)
				w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+nonce+"'")
				w.Header().Set("Cache-Control", tt.appCacheControl)
				_, _ = io.WriteString(w, `<script nonce="`+nonce+`">app()</script>`)
			}
			top := http.NewServeMux()
			top.Handle("GET /page", kit.cfg.Sessions.LoadAndSave(kit.Middleware(http.HandlerFunc(page))))
			top.HandleFunc("GET /control", control)
			srv := httptest.NewServer(&sharedCache{backend: top, entries: map[string]cachedResponse{}})
			defer srv.Close()

			nonceOf := func(path string) (string, http.Header) {
				res, err := http.Get(srv.URL + path)
				require.NoError(t, err)
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				m := regexp.MustCompile(`nonce="([^"]+)"`).FindSubmatch(body)
				require.NotNil(t, m, "%s", body)
				return string(m[1]), res.Header
			}
			first, h := nonceOf("/page")
			second, h2 := nonceOf("/page")
			assert.NotEqual(t, first, second, "each visitor gets their own nonce")
			assert.Empty(t, h2.Get("X-Cache"), "never served from the shared cache")
			assert.Equal(t, tt.want, h.Get("Cache-Control"))
			assert.Empty(t, h.Get("Surrogate-Control"))
			assert.Contains(t, h.Get("Content-Security-Policy"), "'nonce-"+first+"'")

			a, _ := nonceOf("/control")
			b, hb := nonceOf("/control")
			assert.Equal(t, a, b, "control: without the kit the cache hands one nonce to everyone")
			assert.Equal(t, "HIT", hb.Get("X-Cache"))
		})
	}
}
