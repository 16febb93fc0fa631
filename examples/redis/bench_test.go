package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery"
)

// The cost the kit adds over Redis, against what a user would write by hand
// with the same parts: scs with redisstore, crypto/hmac, html/template. Both
// apps serve a signed-in user's page rendering authenticateUser on one
// redis-server, over loopback; bench/run.sh-style alternation of the test
// binary gives the rounds, benchstat the medians:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench RedisPage -benchmem -count 1

const benchSecret = "bench-secret-0123456789-abcdefghij"

var handPage = template.Must(template.New("page").Parse(
	`<!doctype html><html><head><title>Account</title></head><body><h1>Account</h1>` +
		`<script>prefinery('authenticateUser', {"email": {{.Email}}, "signature": {{.Signature}}});</script></body></html>`))

// handWritten is the integration without the kit: the email from the
// session, its HMAC, the page, and the no-store a signed page needs.
func handWritten(sm *scs.SessionManager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = sm.RenewToken(r.Context())
		sm.Put(r.Context(), "userEmail", r.FormValue("email"))
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		email := sm.GetString(r.Context(), "userEmail")
		mac := hmac.New(sha256.New, []byte(benchSecret))
		mac.Write([]byte(email))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = handPage.Execute(w, map[string]string{"Email": email, "Signature": hex.EncodeToString(mac.Sum(nil))})
	})
	return sm.LoadAndSave(mux)
}

var kitPage = `<!doctype html><html><head><title>Account</title></head><body><h1>Account</h1>{{prefineryAuthenticate .}}</body></html>`

// withKit is the same app on the kit: Login, the middleware, the template function.
func withKit(b *testing.B, sm *scs.SessionManager) http.Handler {
	secret, err := prefinery.NewSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sm, SessionKey: "userEmail", EndpointOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	page := template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(kitPage))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = kit.Login(r.Context(), r.FormValue("email"))
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, r)
	})
	return sm.LoadAndSave(kit.Middleware(mux))
}

// BenchmarkRedisPage serves a signed-in user's page, hand-written and with
// the kit, each on its own scs manager over one Redis.
func BenchmarkRedisPage(b *testing.B) {
	rawURL := os.Getenv("REDIS_URL")
	if rawURL == "" {
		b.Skip("REDIS_URL is not set (" + redisHint + ")")
	}
	for _, app := range []struct {
		name    string
		handler func(*scs.SessionManager) http.Handler
	}{
		{"hand-written", handWritten},
		{"kit", func(sm *scs.SessionManager) http.Handler { return withKit(b, sm) }},
	} {
		b.Run(app.name, func(b *testing.B) {
			store, pool, err := redisStore(rawURL)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			sm := scs.New()
			sm.Store = store
			srv := httptest.NewServer(app.handler(sm))
			defer srv.Close()
			transport := &http.Transport{MaxIdleConnsPerHost: 64}
			defer transport.CloseIdleConnections()
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Transport: transport}
			res, err := client.PostForm(srv.URL+"/login", map[string][]string{"email": {"ada@example.com"}})
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := client.Get(srv.URL + "/account")
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if !strings.Contains(string(body), "authenticateUser") {
						b.Errorf("not signed in: %s", body)
						return
					}
				}
			})
		})
	}
}
