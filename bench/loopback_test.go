package bench

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery/examples/basic/app"
)

// quiet drops the app's log: without the middleware, its template functions
// log that they ran outside it, and go test mixes that into the results.
var quiet = slog.New(slog.DiscardHandler)

// BenchmarkLoopback drives the example app over a real HTTP server on
// loopback, with and without the kit's middleware: signed-in users fetching
// their account page (which renders the embed snippet and authenticateUser
// call). Requests/s = 1e9 / (ns/op). Bounded by b.N and -benchtime.
func BenchmarkLoopback(b *testing.B) {
	withAndWithoutKit(b, func(b *testing.B, demo *app.App) {
		srv := httptest.NewServer(demo.Handler)
		defer srv.Close()
		transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
		defer transport.CloseIdleConnections()

		// 32 signed-in users, each with its own cookie jar.
		clients := signedInClients(b, srv.URL, transport, 32, "load")
		b.ReportAllocs()
		b.ResetTimer()
		fetchAccounts(b, srv.URL, clients)
	})
}

// BenchmarkAppInProcess serves the same account page to one signed-in user
// through the app's handler directly, with and without the kit's middleware:
// the server's cost alone, without the loopback network and the client, whose
// noise (±10–25 % here) hides differences of a few percent.
func BenchmarkAppInProcess(b *testing.B) {
	withAndWithoutKit(b, func(b *testing.B, demo *app.App) {
		login := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {"load1@example.com"}}.Encode()))
		login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		signedIn := httptest.NewRecorder()
		demo.Handler.ServeHTTP(signedIn, login)
		req := httptest.NewRequest(http.MethodGet, "/account", nil)
		for _, c := range signedIn.Result().Cookies() {
			req.AddCookie(c)
		}
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			demo.Handler.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

// withAndWithoutKit runs bench twice, as sub-benchmarks: on the example app
// with the kit's middleware, and on the same app without it.
func withAndWithoutKit(b *testing.B, bench func(b *testing.B, demo *app.App)) {
	for _, withKit := range []bool{true, false} {
		name := "with-kit"
		if !withKit {
			name = "without-kit"
		}
		b.Run(name, func(b *testing.B) {
			demo, err := app.New(app.Options{Secret: secret, WithoutKitMiddleware: !withKit, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			bench(b, demo)
		})
	}
}
