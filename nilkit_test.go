package prefinery

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prefinerykit/prefinery/internal/logonce"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNilKitReturnsErrors: on a nil *Kit, every method that returns an error
// returns one wrapping ErrInvalidConfig that says what to do, and panics
// never.
func TestNilKitReturnsErrors(t *testing.T) {
	t.Parallel()
	var kit *Kit
	tests := []struct {
		name string
		call func() error
	}{
		{"Login", func() error { return kit.Login(context.Background(), "ada@example.com") }},
		{"Logout", func() error { return kit.Logout(context.Background()) }},
		{"Rotate", func() error { return kit.Rotate(testSecret) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tt.call() })
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.EqualError(t, err, "prefinery: a nil *prefinery.Kit: use the Kit New returned (and stop when New returns an error)")
		})
	}
}

// TestNilKitSignsNobody: on a nil *Kit, the methods without an error say
// "nobody": no identity, no signature, a context unchanged.
func TestNilKitSignsNobody(t *testing.T) {
	t.Parallel()
	var kit *Kit
	type appKey struct{}
	ctx := context.WithValue(context.Background(), appKey{}, "app")
	tests := []struct {
		name string
		call func(t *testing.T)
	}{
		{"Identity", func(t *testing.T) {
			id, ok := kit.Identity(ctx)
			assert.False(t, ok)
			assert.Zero(t, id)
		}},
		{"Sign", func(t *testing.T) { assert.Empty(t, kit.Sign("ada@example.com")) }},
		{"WithIdentity", func(t *testing.T) {
			got := kit.WithIdentity(ctx, Identity{Kind: KindEmail, Identifier: "ada@example.com", Signature: strings.Repeat("a", 64)})
			assert.Equal(t, ctx, got)
			_, ok := kit.Identity(got)
			assert.False(t, ok)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotPanics(t, func() { tt.call(t) })
		})
	}
}

// TestNilKitFailsClosed: a nil *Kit's middleware and identity endpoint never
// reach the app's handler: every request gets 500 and a JSON error; its
// template functions stop the template with the nil-Kit error, nothing of a
// snippet rendered; its SessionErrorFunc answers as a Kit's does.
func TestNilKitFailsClosed(t *testing.T) {
	t.Parallel()
	var kit *Kit
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the app's handler ran behind a nil Kit")
	})
	handlers := []struct {
		name    string
		handler func() http.Handler
	}{
		{"Middleware", func() http.Handler { return kit.Middleware(app) }},
		{"IdentityHandler", func() http.Handler { return kit.IdentityHandler() }},
		{"SessionErrorFunc", func() http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				kit.SessionErrorFunc(w, r, errors.New("store down"))
			})
		}},
	}
	for _, tt := range handlers {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Handler
			require.NotPanics(t, func() { h = tt.handler() })
			rec := httptest.NewRecorder()
			require.NotPanics(t, func() { h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/account", nil)) })
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			assert.True(t, strings.HasPrefix(rec.Body.String(), `{"error":"`), rec.Body.String())
		})
	}

	funcs := kit.FuncMap()
	assert.Len(t, funcs, len(newKit(t, Config{}).FuncMap()), "the same names as a Kit's, so templates parse")
	for _, call := range []string{
		`{{prefineryEmbed .}}`, `{{prefineryLoader .}}`, `{{prefineryAuthenticate .}}`,
		`{{prefinerySignature .}}`, `{{prefineryIdentifier .}}`, `{{prefineryNonce .}}`,
		`{{prefineryEmbedReferralPage . "referrals"}}`, `{{prefineryPopupReferralPage .}}`,
		`{{prefineryGetUser . "app.onUser"}}`, `{{prefineryAddUser . (prefineryFields "utm_source" "app")}}`,
		`{{prefineryCall . "triggerRewards" nil}}`,
	} {
		t.Run(call, func(t *testing.T) {
			tmpl := template.Must(template.New("page").Funcs(funcs).Parse(`<head>` + call + `</head>`))
			var out strings.Builder
			err := tmpl.Execute(&out, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.NotContains(t, out.String(), "<script")
		})
	}
}

// TestNilKitLogsOnce: a nil Kit has no Config.Logger, so it reports itself
// through slog.Default, once per method however often it is called. Not
// parallel: it swaps the default logger, and runs before the parallel tests
// (which call the nil Kit too) resume.
func TestNilKitLogsOnce(t *testing.T) {
	logger, logs := testLogger()
	previous := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(previous) })
	nilKitLogged = logonce.Set[string]{} // as in a fresh process (go test -count=2)
	var kit *Kit
	for range 3 {
		_ = kit.Logout(context.Background())
		kit.IdentityHandler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/prefinery/identity", nil))
	}
	out := logs.String()
	assert.Equal(t, 2, strings.Count(out, "a nil *prefinery.Kit: use the Kit New returned"), out)
	assert.Equal(t, 1, strings.Count(out, `"method":"Kit.Logout"`), out)
	assert.Equal(t, 1, strings.Count(out, `"method":"Kit.IdentityHandler"`), out)
	assert.Contains(t, out, `"level":"ERROR"`)
}
