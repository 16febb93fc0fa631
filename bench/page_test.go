package bench

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
	"github.com/prefinerykit/prefinery"
)

// BenchmarkPage is the measure users feel: a signed-in user's account page,
// served over a real HTTP server on loopback, by the kit and by the same app
// written by hand with the same parts (scs, crypto/hmac, html/template, a
// crypto/rand CSP nonce, the same headers). Both apps render the same page
// bytes but for the nonce and the signature's user; each store column runs
// both apps back to back, so their ratio comes from one run:
//
//	go test -run '^$' -bench Page -benchmem -count 1   (bench/run.sh alternates runs)
//
// The Redis column needs redis-server on PATH (or REDIS_URL); it skips
// without one.
func BenchmarkPage(b *testing.B) {
	for _, store := range []string{"memstore", "redis"} {
		for _, app := range []struct {
			name    string
			handler func(*scs.SessionManager) http.Handler
		}{
			{"hand", handWrittenPage},
			{"kit", func(sm *scs.SessionManager) http.Handler { return kitPage(b, sm) }},
		} {
			b.Run(store+"/"+app.name, func(b *testing.B) {
				sm := scs.New()
				if store == "redis" {
					pool := benchRedis(b)
					sm.Store = redisstore.New(pool)
				}
				servePages(b, app.handler(sm))
			})
		}
	}
}

// pageUsers is how many signed-in users the benchmark's clients play.
const pageUsers = 32

// servePages signs pageUsers users in and has them fetch /account.
func servePages(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	clients := signedInClients(b, srv.URL, transport, pageUsers, "user")
	// One page checked before timing: both apps must render a signed page.
	res, err := clients[0].Get(srv.URL + "/account")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "authenticateUser") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "'nonce-") {
		b.Fatalf("not a signed page with a nonce: %s %s", res.Header.Get("Content-Security-Policy"), body)
	}
	b.ReportAllocs()
	cpuBefore := processCPU()
	b.ResetTimer()
	fetchAccounts(b, srv.URL, clients)
	b.ReportMetric(float64(processCPU()-cpuBefore)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time the process (server and clients) used so far:
// a measure other processes on the machine disturb far less than the wall
// clock, since time spent waiting for a core is not counted.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The page both apps serve: a layout with the embed in <head> and some
// account content; the kit's version has {{prefineryEmbed .}} where the hand
// version writes the stub, the loader and the call.
const (
	pageHead = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your account</title>` +
		`<link rel="stylesheet" href="/static/app.css">`
	pageBody = `</head><body><nav><a href="/">Home</a> <a href="/account">Account</a> <form method="post" action="/logout"><button>Sign out</button></form></nav>` +
		`<main><h1>Your account</h1><p>Signed in as {{.Email}}.</p><ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul></main></body></html>`
	widgetURL = "https://widget.prefinery.com/widget/v2/ab12cd34.js"
	appCSP    = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"
)

// pageItems is the account page's content.
var pageItems = []string{"Plan: Pro", "Referrals: 3", "Next invoice: 1 January", "Support: help@example.com"}

var handTemplate = template.Must(template.New("page").Parse(pageHead +
	`<script nonce="{{.Nonce}}">prefinery=window.prefinery||function(){(window.prefinery.q=window.prefinery.q||[]).push(arguments)};</script>` +
	`<script nonce="{{.Nonce}}" src="{{.WidgetURL}}" async></script>` +
	`<script nonce="{{.Nonce}}">prefinery('authenticateUser', {"email": {{.Email}}, "signature": {{.Signature}}});</script>` +
	pageBody))

// handWrittenPage is the integration without the kit, as a careful user
// writes it: the email from the session, its HMAC, a fresh nonce in the CSP
// and on the scripts, no-store and Vary: Cookie on the signed page.
func handWrittenPage(sm *scs.SessionManager) http.Handler {
	key := []byte(secretText)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = sm.RenewToken(r.Context())
		sm.Put(r.Context(), "userEmail", r.FormValue("email"))
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		email := sm.GetString(r.Context(), "userEmail")
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(email))
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		nonce := base64.RawURLEncoding.EncodeToString(raw[:])
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+nonce+"' https://widget.prefinery.com; object-src 'none'; base-uri 'none'; connect-src 'self' https://widget.prefinery.com; frame-src 'self' https://widget.prefinery.com; img-src 'self' https://widget.prefinery.com; style-src 'self' https://widget.prefinery.com")
		h.Set("Cache-Control", "no-store")
		h.Add("Vary", "Cookie")
		_ = handTemplate.Execute(w, map[string]any{
			"Nonce": nonce, "WidgetURL": widgetURL, "Email": email,
			"Signature": hex.EncodeToString(mac.Sum(nil)), "Items": pageItems,
		})
	})
	return sm.LoadAndSave(mux)
}

// kitPage is the same app on the kit: Login, the middleware, the embed.
func kitPage(b *testing.B, sm *scs.SessionManager) http.Handler {
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sm, SessionKey: "userEmail", ProjectKey: "ab12cd34", Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	page := template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(pageHead + `{{prefineryEmbed .Request}}` + pageBody))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = kit.Login(r.Context(), r.FormValue("email"))
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		id, _ := kit.Identity(r.Context())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", appCSP) // the app's own policy; the kit adds its nonce and hosts
		_ = page.Execute(w, map[string]any{"Request": r, "Email": id.Identifier, "Items": pageItems})
	})
	return sm.LoadAndSave(kit.Middleware(mux))
}

// benchRedis starts a redis-server of the benchmark's own (or uses REDIS_URL)
// and returns a pool on it; it skips when there is neither.
func benchRedis(b *testing.B) *redis.Pool {
	addr := ""
	if raw := os.Getenv("REDIS_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		addr = u.Host
	} else {
		bin, err := exec.LookPath("redis-server")
		if err != nil {
			b.Skip("redis-server is not on PATH and REDIS_URL is not set: the Redis column is skipped")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
		_, port, _ := net.SplitHostPort(addr)
		dir := b.TempDir()
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	pool := &redis.Pool{MaxIdle: 64, Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
	b.Cleanup(func() { pool.Close() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c := pool.Get()
		_, err := c.Do("PING")
		c.Close()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("redis at %s: %v", addr, err)
		}
	}
	return pool
}
