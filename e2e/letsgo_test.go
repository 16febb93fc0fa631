package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/prefinerykit/prefinery/examples/letsgo/app"
	"github.com/prefinerykit/prefinery/examples/letsgo/models"
	"github.com/prefinerykit/prefinery/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// letsGoPolicy is the app's own CSP, from its unchanged secureHeaders.
const letsGoPolicy = "default-src 'self'; style-src 'self' fonts.googleapis.com; font-src fonts.gstatic.com"

// standInJS is the offline widget's script.
func standInJS(t *testing.T) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	standin.New().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, standin.WidgetURL, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.Bytes()
}

// interceptWidget answers the browser's requests to Prefinery's real widget
// host with the offline stand-in, so the app runs exactly as configured for
// production (ProjectKey).
func interceptWidget(t *testing.T, ctx context.Context) {
	t.Helper()
	js := standInJS(t)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		go func() {
			params := fetch.FulfillRequestParams{RequestID: e.RequestID, ResponseCode: 204} // the stand-in's reports
			if strings.HasSuffix(e.Request.URL, ".js") {
				params = fetch.FulfillRequestParams{RequestID: e.RequestID, ResponseCode: 200,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/javascript"}}, Body: js}
			}
			if _, err := chromedp.Call(ctx, fetch.FulfillRequest, params); err != nil && ctx.Err() == nil {
				t.Logf("intercepting %s: %v", e.Request.URL, err)
			}
		}()
	}))
	_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "https://widget.prefinery.com/*"}}})
	require.NoError(t, err)
}

// redirectHeader reports the named header of the next 303 the page gets,
// from the raw headers the network stack received (the higher-level events
// leave Clear-Site-Data out).
func redirectHeader(t *testing.T, ctx context.Context, name string) <-chan string {
	t.Helper()
	got := make(chan string, 1)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*network.EventResponseReceivedExtraInfo)
		if !ok || e.StatusCode != http.StatusSeeOther {
			return
		}
		for header, value := range e.Headers {
			if v, _ := value.(string); strings.EqualFold(header, name) {
				select {
				case got <- v:
				default:
				}
			}
		}
	}))
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	return got
}

// withoutMerge serves the app through a proxy that puts back the policy the
// app's secureHeaders sent, as if the kit had not merged into it.
func withoutMerge(t *testing.T, app http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		for name, values := range rec.Header() {
			w.Header()[name] = values
		}
		if w.Header().Get("Content-Security-Policy") != "" {
			w.Header().Set("Content-Security-Policy", letsGoPolicy)
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserLetsGoApp: the book-shaped app adopted the kit in 12 Go lines,
// no template and no CSP edit (examples/letsgo/app TestAdoption). In a real
// browser its own CSP stays in force and the kit's scripts run under it:
// no violation, Bob's authenticateUser with the address his record holds, in
// the stand-in's panel (and no referral page: the app embeds none), and
// nothing after logout. The control puts back
// the app's policy as it sent it: the kit's scripts are blocked.
func TestBrowserLetsGoApp(t *testing.T) {
	h := newHarness(t)
	t.Setenv("PREFINERY_IDENTITY_SECRET", secretText)
	t.Setenv("PREFINERY_PROJECT_KEY", "ab12cd34")
	handler, err := app.New(app.Config{
		Users:  models.NewUserModel(models.User{Name: "Bob", Email: "Bob@Example.com", EmailConfirmed: true}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	login := func(ctx context.Context, base string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(base+"/user/login"),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), "bob@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), "pa55word"),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("account-email")),
		))
	}

	t.Run("control: the app's policy as it sent it blocks the kit", func(t *testing.T) {
		ctx := h.newUser()
		interceptWidget(t, ctx)
		login(ctx, withoutMerge(t, handler).URL)
		time.Sleep(300 * time.Millisecond)
		violations := h.violations(ctx)
		require.NotEmpty(t, violations, "the app's own CSP blocks the kit's scripts")
		t.Logf("%d violations without the merge, e.g. %q", len(violations), violations[0])
		calls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.prefineryCalls || null)`))
		require.NoError(t, err)
		assert.Equal(t, "null", calls, "the widget never loaded")
	})

	t.Run("with the kit: no violation, Bob authenticated, no referral page, nothing after logout", func(t *testing.T) {
		ctx := h.newUser()
		interceptWidget(t, ctx)
		login(ctx, srv.URL)
		auth := h.authCalls(ctx)
		require.Len(t, auth, 1)
		assert.Equal(t, map[string]string{"email": "Bob@Example.com", "signature": sign("Bob@Example.com")}, auth[0],
			"the address as the user record holds it, not as Bob typed it")
		panel, err := chromedp.Run(ctx, chromedp.Poll[string](`(p => p && p.textContent)(document.getElementById("prefinery-standin-panel"))`,
			chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err)
		assert.Contains(t, panel, `prefinery("authenticateUser", {"email":"Bob@Example.com"`, "the stand-in's panel lists the call")
		pages, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".prefinery-standin-referral-page").length`))
		require.NoError(t, err)
		assert.Zero(t, pages, "no referral page: the app embeds none")
		mainJS, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.getAttribute("data-main-js")`))
		require.NoError(t, err)
		assert.Equal(t, "ran", mainJS, "the app's own script still runs")
		assert.Empty(t, h.violations(ctx))

		clearSiteData := redirectHeader(t, ctx, "Clear-Site-Data")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-link"))))
		select {
		case v := <-clearSiteData:
			assert.Equal(t, `"cache"`, v, "the app's logout (Config.User) carries Clear-Site-Data")
		case <-time.After(5 * time.Second):
			t.Error("Chromium saw no logout response")
		}
		calls, err := chromedp.Run(ctx, chromedp.Poll[string](`document.readyState === "complete" && window.prefineryCalls && JSON.stringify(window.prefineryCalls)`))
		require.NoError(t, err)
		assert.NotContains(t, calls, "authenticateUser", "nothing signed after logout")
		assert.Empty(t, h.violations(ctx))
	})
}
