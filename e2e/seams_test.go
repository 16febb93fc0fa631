package e2e

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/chromedp/chromedp"
	"github.com/prefinerykit/prefinery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The third attack round's findings where the browser decides: how Chromium
// reads a policy the kit merged into, and what a page-swapping library keeps
// after the user signs out.

// seamApp is a small app on the kit: scs sessions, a sign-in route, and
// pages rendered with the template functions under a policy of the test's.
type seamApp struct {
	kit      *prefinery.Kit
	sessions *scs.SessionManager
	srv      *httptest.Server
}

func newSeamApp(t *testing.T, widgetURL string, routes func(a *seamApp, mux *http.ServeMux)) *seamApp {
	t.Helper()
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	a := &seamApp{sessions: scs.New()}
	a.kit, err = prefinery.New(prefinery.Config{Secret: secret, Sessions: a.sessions, WidgetURL: widgetURL})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/{email}", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, a.kit.Login(r.Context(), r.PathValue("email")))
		_, _ = io.WriteString(w, "signed in")
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, a.kit.Logout(r.Context()))
		_, _ = io.WriteString(w, "signed out")
	})
	routes(a, mux)
	a.srv = httptest.NewServer(a.sessions.LoadAndSave(a.kit.Middleware(mux)))
	t.Cleanup(a.srv.Close)
	return a
}

// page parses a page template with the kit's functions.
func (a *seamApp) page(text string) *template.Template {
	return template.Must(template.New("page").Funcs(a.kit.FuncMap()).Parse(text))
}

func (a *seamApp) visit(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+path)))
}

// TestBrowserPolicyAsChromiumReadsIt: the app's policy holds a directive
// Chromium ignores (a no-break space after script-src), so inline scripts
// are blocked. The kit keeps it ignored: its own scripts run by their nonce,
// the app's inline script stays blocked. Control: the policy as the kit used
// to rewrite it (split on Unicode spaces) lets the inline script run.
func TestBrowserPolicyAsChromiumReadsIt(t *testing.T) {
	h := newHarness(t)
	widget := standInServer(t)
	const policy = "script-src\u00a0'self' 'unsafe-inline'; default-src 'self'; connect-src *"
	inline := `<script>window.inlineRan = true</script>`
	a := newSeamApp(t, widget, func(a *seamApp, mux *http.ServeMux) {
		page := a.page(`<!doctype html><html><head>{{prefineryEmbed .}}</head><body>` + inline + `<p id="done">page</p></body></html>`)
		mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", policy)
			require.NoError(t, page.Execute(w, r))
		})
		mux.HandleFunc("GET /control", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "script-src 'self' 'unsafe-inline'; default-src 'self'")
			_, _ = io.WriteString(w, `<!doctype html><html><body>`+inline+`<p id="done">control</p></body></html>`)
		})
	})
	ctx := h.newUser()
	a.visit(t, ctx, "/login/gil@example.com")
	a.visit(t, ctx, "/page")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))))
	auth := h.authCalls(ctx)
	require.Len(t, auth, 1, "the kit's scripts run under the merged policy")
	assert.Equal(t, map[string]string{"email": "gil@example.com", "signature": sign("gil@example.com")}, auth[0])
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.inlineRan === true`))
	require.NoError(t, err)
	assert.False(t, ran, "the app's inline script stays blocked: the ignored directive stays ignored")

	a.visit(t, ctx, "/control")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))))
	ran, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.inlineRan === true`))
	require.NoError(t, err)
	assert.True(t, ran, "control: the directive rewritten with ASCII spaces lets inline scripts run")
}

// TestBrowserSandboxWithTab: uploaded HTML served with
// "sandbox<TAB>allow-scripts" is sandboxed by Chromium; AutoInsert puts no
// signature into it.
func TestBrowserSandboxWithTab(t *testing.T) {
	h := newHarness(t)
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sessions, WidgetURL: standInServer(t), AutoInsert: true})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/{email}", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, kit.Login(r.Context(), r.PathValue("email")))
	})
	mux.HandleFunc("GET /upload", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "sandbox\tallow-scripts")
		_, _ = io.WriteString(w, `<!doctype html><html><body><p id="upload">upload</p><script>
window.stolen = Array.from(document.scripts).map(s => s.textContent).join(" ");
</script></body></html>`)
	})
	srv := httptest.NewServer(sessions.LoadAndSave(kit.Middleware(mux)))
	defer srv.Close()
	ctx := h.newUser()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/login/hal@example.com"), chromedp.Navigate(srv.URL+"/upload"),
		chromedp.WaitVisible(chromedp.ID("upload"))))
	stolen, err := chromedp.Run(ctx, chromedp.Poll[string](`typeof window.stolen === "string" && ("scripts: " + window.stolen)`))
	require.NoError(t, err)
	assert.NotContains(t, stolen, sign("hal@example.com"))
	assert.NotContains(t, stolen, "authenticateUser")
	origin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.origin`))
	require.NoError(t, err)
	assert.Equal(t, "null", origin, "Chromium sandboxes the page: the tab separates the flags")
}

// htmxJS is htmx 2 (dist/htmx.min.js of the npm package htmx.org), which
// .ci/run fetches from the npm registry into HTMX_JS.
func htmxJS(t *testing.T) []byte {
	return npmFile(t, "HTMX_JS", "npm pack htmx.org@2, and point HTMX_JS at package/dist/htmx.min.js")
}

// npmFile reads the file the environment variable env names, a package
// .ci/run fetches from the npm registry; without it the test skips (fails
// under PREFINERY_REQUIRE_BROWSER) and says how to get it.
func npmFile(t *testing.T, env, how string) []byte {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		msg := env + " is not set: " + how + " (.ci/run does)"
		if os.Getenv("PREFINERY_REQUIRE_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// TestBrowserHTMXHistory: htmx with hx-boost keeps snapshots of the pages it
// swapped away from, in the browser's storage, where neither no-store nor
// Clear-Site-Data: "cache" reaches. A page with the kit's signed script is
// never snapshotted; the control page, signed by a hand-written script,
// leaves the signature in storage after sign-out.
func TestBrowserHTMXHistory(t *testing.T) {
	js := htmxJS(t)
	h := newHarness(t)
	widget := standInServer(t)
	const layout = `<!doctype html><html><head><script src="/htmx.min.js"></script></head><body hx-boost="true">%s</body></html>`
	a := newSeamApp(t, widget, func(a *seamApp, mux *http.ServeMux) {
		mux.HandleFunc("GET /htmx.min.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(js)
		})
		signed := a.page(strings.Replace(layout, "%s", `<h1 id="one">one</h1><a id="next" href="/other">next</a>{{prefineryEmbed .}}`, 1))
		mux.HandleFunc("GET /signed", func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, signed.Execute(w, r))
		})
		mux.HandleFunc("GET /control", func(w http.ResponseWriter, r *http.Request) {
			id, _ := a.kit.Identity(r.Context())
			script := `<script>window.sig = "` + id.Signature + `"</script>` // a page the app signs by hand
			_, _ = io.WriteString(w, strings.Replace(layout, "%s", `<h1 id="one">one</h1><a id="next" href="/other">next</a>`+script, 1))
		})
		mux.HandleFunc("GET /other", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, strings.Replace(layout, "%s", `<h1 id="two">two</h1>`, 1))
		})
	})
	snapshots := func(ctx context.Context) string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`JSON.stringify([sessionStorage.getItem("htmx-history-cache"), localStorage.getItem("htmx-history-cache")])`))
		require.NoError(t, err)
		return s
	}
	browse := func(ctx context.Context, start string) {
		a.visit(t, ctx, "/login/ivy@example.com")
		a.visit(t, ctx, start)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("one"))))
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`typeof htmx === "object"`))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("next")),
			chromedp.WaitVisible(chromedp.ID("two")), // swapped by htmx, not loaded
		))
		boosted, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`performance.getEntriesByType("navigation").length === 1 && !!document.querySelector("#two")`))
		require.NoError(t, err)
		require.True(t, boosted)
		time.Sleep(100 * time.Millisecond)
		a.visit(t, ctx, "/logout")
	}

	ctx := h.newUser()
	browse(ctx, "/control")
	assert.Contains(t, snapshots(ctx), sign("ivy@example.com"), "control: htmx kept the signed page after sign-out")

	ctx = h.newUser()
	browse(ctx, "/signed")
	got := snapshots(ctx)
	assert.NotContains(t, got, sign("ivy@example.com"), "the kit's page opted out of htmx's history cache")
	assert.NotContains(t, got, "authenticateUser")
}

// TestBrowserStandInPanel: the demo's stand-in panel says, call by call,
// whether the signature verifies under the app's secret; the referral page
// the account page embeds is shown once (not again in the panel), and the
// test-webhook button sits on its own line. PREFINERY_SCREENSHOT=path saves
// the page (the README's picture).
func TestBrowserStandInPanel(t *testing.T) {
	h := newHarness(t)
	ctx := h.newUser()
	h.login(ctx, "ada@example.com", false)
	panel, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(p => p && p.textContent.includes("\u2713") && p.textContent)(document.getElementById("prefinery-standin-panel"))`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	assert.Contains(t, panel, "the signature verifies under the app's secret")
	assert.NotContains(t, panel, "does NOT verify")
	pages, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".prefinery-standin-referral-page").length`))
	require.NoError(t, err)
	assert.Equal(t, 1, pages, "the referral page is shown once")
	own, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("prefinery-standin-send-webhook").parentElement.className === "prefinery-standin-actions"`))
	require.NoError(t, err)
	assert.True(t, own, "the button has a row of its own")
	if path := os.Getenv("PREFINERY_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, png, 0o644))
	}
}
