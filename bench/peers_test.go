package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/csrf"
	"github.com/justinas/nosurf"
	"github.com/prefinerykit/prefinery"
)

const (
	secretText = "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw"
	email      = "someone.with.a.long.name@example.com"
)

// secret is secretText as the kit's Secret.
var secret = func() prefinery.Secret {
	s, err := prefinery.NewSecret(secretText)
	if err != nil {
		panic(err)
	}
	return s
}()

// discard is a ResponseWriter that costs nothing, so only middleware is measured.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// steadyRequest returns a GET that carries the cookies handler set on a first
// visit (session, CSRF), as every request after the first does.
func steadyRequest(b *testing.B, handler http.Handler, prime func(*http.Request)) *http.Request {
	b.Helper()
	first := httptest.NewRequest(http.MethodGet, "/", nil)
	rec := httptest.NewRecorder()
	if prime != nil {
		prime(first)
	}
	handler.ServeHTTP(rec, first)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	return req
}

// csrfKey is gorilla/csrf's authentication key for the benchmarks.
var csrfKey = []byte("0123456789abcdef0123456789abcdef")

// peerHandlers are the end handlers: each reads the value its middleware
// provides, so that every middleware does its per-request work.
type peerHandlers struct {
	readIdentity, ignore, readCSRF, readNosurf http.Handler
}

func newPeerHandlers(b *testing.B, kit *prefinery.Kit) peerHandlers {
	return peerHandlers{
		readIdentity: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id, ok := kit.Identity(r.Context()); !ok || id.Signature == "" {
				b.Fatal("no identity")
			}
		}),
		ignore: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		readCSRF: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if csrf.Token(r) == "" {
				b.Fatal("no csrf token")
			}
		}),
		readNosurf: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if nosurf.Token(r) == "" {
				b.Fatal("no nosurf token")
			}
		}),
	}
}

// BenchmarkPeers runs the kit, gorilla/csrf and nosurf on the same GET, each
// behind scs LoadAndSave with a signed-in session, each handler reading the
// per-request value the middleware provides. Overhead = case − scs-only.
func BenchmarkPeers(b *testing.B) {
	sm := scs.New()
	kit, err := prefinery.New(prefinery.Config{EndpointOnly: true, Secret: secret, Sessions: sm})
	if err != nil {
		b.Fatal(err)
	}
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Login(r.Context(), email); err != nil {
			b.Fatal(err)
		}
	})
	sessionCookie := steadyRequest(b, sm.LoadAndSave(login), nil).Cookies()
	withSession := func(r *http.Request) {
		for _, c := range sessionCookie {
			r.AddCookie(c)
		}
	}

	h := newPeerHandlers(b, kit)
	cases := []struct {
		name    string
		handler http.Handler
	}{
		{"scs-only", sm.LoadAndSave(h.ignore)},
		{"scs+kit-read", sm.LoadAndSave(kit.Middleware(h.readIdentity))},
		{"scs+kit-unread", sm.LoadAndSave(kit.Middleware(h.ignore))},
		{"scs+gorilla-csrf", sm.LoadAndSave(csrf.Protect(csrfKey, csrf.Secure(false))(h.readCSRF))},
		{"scs+nosurf", sm.LoadAndSave(nosurf.New(h.readNosurf))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := steadyRequest(b, c.handler, withSession)
			withSession(req)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.handler.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkPeersAlone measures each middleware on its own, without the scs
// LoadAndSave in front whose session decoding (≈15 µs, ±5%) drowns
// sub-microsecond differences: the kit gets a request whose context already
// holds the loaded session, as it does inside LoadAndSave; the peers get their
// own cookie. Overhead = case − handler-only.
func BenchmarkPeersAlone(b *testing.B) {
	sm := scs.New()
	kit, err := prefinery.New(prefinery.Config{EndpointOnly: true, Secret: secret, Sessions: sm})
	if err != nil {
		b.Fatal(err)
	}
	var token string
	sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Login(r.Context(), email); err != nil {
			b.Fatal(err)
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	for k := range must(sm.Store.(scs.IterableStore).All()) {
		token = k
	}
	// The signed-in user's next request: the session loaded from the store,
	// unmodified, as LoadAndSave hands it on.
	ctx, err := sm.Load(context.Background(), token)
	if err != nil {
		b.Fatal(err)
	}
	loaded := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)

	h := newPeerHandlers(b, kit)
	cases := []struct {
		name    string
		handler http.Handler
		req     func() *http.Request
	}{
		{"handler-only", h.ignore, func() *http.Request { return loaded }},
		{"kit-read", kit.Middleware(h.readIdentity), func() *http.Request { return loaded }},
		{"kit-unread", kit.Middleware(h.ignore), func() *http.Request { return loaded }},
		{"gorilla-csrf", csrf.Protect(csrfKey, csrf.Secure(false))(h.readCSRF), nil},
		{"nosurf", nosurf.New(h.readNosurf), nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var req *http.Request
			if c.req != nil {
				req = c.req()
			} else {
				req = steadyRequest(b, c.handler, nil)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.handler.ServeHTTP(w, req)
			}
		})
	}
}

// must returns v, panicking on err (benchmark setup only).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
