package prefinery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery/internal/secret"
)

// Benchmarks for BENCHMARKS.md. Compare the sub-benchmarks of one run:
//
//	go test -run '^$' -bench . -benchmem -count 8 . | tee new.txt && benchstat new.txt

const benchEmail = "someone.with.a.long.name@example.com" // 36 bytes: one block

// naiveSign is the vendor snippet translated literally: a new HMAC per call.
func naiveSign(secret, identifier string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(identifier))
	return hex.EncodeToString(mac.Sum(nil))
}

func BenchmarkSign(b *testing.B) {
	kit := newKit(b, Config{EndpointOnly: true, Secret: mustSecret(vendorSecretText), Sessions: scs.New()})
	// floor: the two SHA-256 block compressions an HMAC of a short identifier
	// needs (inner message block, outer digest block), and nothing else.
	b.Run("floor-two-blocks", func(b *testing.B) {
		b.ReportAllocs()
		var msg [55]byte
		copy(msg[:], benchEmail)
		var sum [32]byte
		for b.Loop() {
			sum = sha256.Sum256(msg[:])
			sum = sha256.Sum256(sum[:])
		}
		_ = sum
	})
	// Kit.Sign on identifiers it has not signed before (8,192 in turn): the
	// guard rail is ≤ 2.5× the floor.
	b.Run("Kit.Sign-first-sight", func(b *testing.B) {
		ids := make([]string, 8192)
		for i := range ids {
			ids[i] = "user" + strconv.Itoa(i) + "@example.com"
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = kit.Sign(ids[i%len(ids)])
			i++
		}
	})
	b.Run("naive-hmac.New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = naiveSign(vendorSecretText, benchEmail)
		}
	})
	b.Run("Kit.Sign-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = kit.Sign(benchEmail)
			}
		})
	})
}

// BenchmarkSignLength shows cost growing with SHA-256 blocks, linearly.
func BenchmarkSignLength(b *testing.B) {
	secret := mustSecret(vendorSecretText)
	for _, n := range []int{16, 64, 320} {
		id := strings.Repeat("a", n)
		b.Run(strconv.Itoa(n)+"B", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = secret.key.Sign(id)
			}
		})
	}
}

// sessionRequest returns a request whose context already holds a loaded scs
// session with email signed in, as it is inside LoadAndSave.
func sessionRequest(b testing.TB, sm *scs.SessionManager, email string) *http.Request {
	b.Helper()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	if email != "" {
		// Saved and loaded again, as a signed-in user's next request loads
		// it: unmodified, so scs will not save it.
		sm.Put(ctx, defaultSessionKey, email)
		token, _, err := sm.Commit(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if ctx, err = sm.Load(context.Background(), token); err != nil {
			b.Fatal(err)
		}
	}
	return httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
}

type bareKey struct{}

// bareAttach is the unavoidable part of any middleware that attaches a value:
// context.WithValue plus r.WithContext.
func bareAttach(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bareKey{}, "value")))
	})
}

// bareSessionAttach adds the session read any session-backed middleware needs
// (scs's GetString allocates 16 bytes per call for its context key).
func bareSessionAttach(sm *scs.SessionManager, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := sm.GetString(r.Context(), defaultSessionKey)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bareKey{}, v)))
	})
}

// naiveMiddleware is the vendor snippet as a middleware: it reads the session
// and signs eagerly with hmac.New on every request.
func naiveMiddleware(sm *scs.SessionManager, secret string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			email := sm.GetString(r.Context(), defaultSessionKey)
			if email == "" {
				next.ServeHTTP(w, r)
				return
			}
			id := Identity{Kind: KindEmail, Identifier: email, Signature: naiveSign(secret, email)}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bareKey{}, id)))
		})
	}
}

// discardWriter is a ResponseWriter that costs nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func BenchmarkMiddleware(b *testing.B) {
	sm := scs.New()
	kit := newKit(b, Config{EndpointOnly: true, Secret: mustSecret(vendorSecretText), Sessions: sm})
	// The same kit reading its user from the app's own auth (Config.User)
	// instead of scs, which isolates the kit's cost from scs's Get.
	type authUser struct{}
	userKit := newKit(b, Config{EndpointOnly: true, Secret: mustSecret(vendorSecretText), User: func(r *http.Request) (string, bool) {
		u, ok := r.Context().Value(authUser{}).(string)
		return u, ok
	}})
	ignore := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := kit.templateIdentity(r); !ok || len(id.Signature) != secret.SignatureLength {
			b.Fatal("no identity")
		}
	})
	readNaive := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(bareKey{}).(Identity); !ok {
			b.Fatal("no identity")
		}
	})
	cases := []struct {
		name    string
		handler http.Handler
		email   string
		viaUser bool // signed in through the app's own auth (Config.User), not scs
	}{
		{"bare-WithValue", bareAttach(ignore), benchEmail, false},
		{"bare-session-WithValue", bareSessionAttach(sm, ignore), benchEmail, false},
		{"kit-unread", kit.Middleware(ignore), benchEmail, false},
		{"kit-read", kit.Middleware(read), benchEmail, false},
		{"kit-anonymous", kit.Middleware(ignore), "", false},
		{"kit-userfunc-unread", userKit.Middleware(ignore), "", true},
		{"naive-vendor-snippet", naiveMiddleware(sm, vendorSecretText)(readNaive), benchEmail, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := sessionRequest(b, sm, c.email)
			if c.viaUser {
				req = req.WithContext(context.WithValue(req.Context(), authUser{}, benchEmail))
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.handler.ServeHTTP(w, req)
			}
		})
	}
}

func BenchmarkEmbed(b *testing.B) {
	sm := scs.New()
	kit := newKit(b, Config{Secret: mustSecret(vendorSecretText), Sessions: sm, ProjectKey: "ab12cd34",
		Nonce: func(*http.Request) string { return "cmFuZG9tLW5vbmNl" }})
	for _, signedIn := range []bool{true, false} {
		name, email := "signed-in", benchEmail
		if !signedIn {
			name, email = "anonymous", ""
		}
		b.Run(name, func(b *testing.B) {
			var r *http.Request
			kit.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) { r = req })).
				ServeHTTP(&discardWriter{h: http.Header{}}, sessionRequest(b, sm, email))
			kit.templateIdentity(r) // sign once up front: this measures rendering
			b.ReportAllocs()
			for b.Loop() {
				if _, err := kit.embed(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIdentityHandler(b *testing.B) {
	sm := scs.New()
	kit := newKit(b, Config{EndpointOnly: true, Secret: mustSecret(vendorSecretText), Sessions: sm})
	h := kit.Middleware(kit.IdentityHandler())
	req := sessionRequest(b, sm, benchEmail)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkCall is one compiled complete call (embedReferralPage) for a
// signed-in user.
func BenchmarkCall(b *testing.B) {
	sm := scs.New()
	kit := newKit(b, Config{Secret: mustSecret(vendorSecretText), Sessions: sm, ProjectKey: "ab12cd34"})
	var r *http.Request
	kit.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) { r = req })).
		ServeHTTP(&discardWriter{h: http.Header{}}, sessionRequest(b, sm, benchEmail))
	kit.templateIdentity(r) // sign once up front: this measures rendering
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kit.embedReferralPage(r, "referrals"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAmendCSP is the per-page cost of merging the kit's nonce and
// sources into an app's policy ("Let's Go" style).
func BenchmarkAmendCSP(b *testing.B) {
	kit := newKit(b, Config{Secret: mustSecret(vendorSecretText), Sessions: scs.New(), ProjectKey: "ab12cd34"})
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' fonts.googleapis.com; font-src fonts.gstatic.com")
		kit.csp.Amend(h, "AAAAAAAAAAAAAAAAAAAAAA", "https://widget.prefinery.com")
	}
}
