package e2e

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/chromedp/chromedp"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/examples/basic/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The attacks of "signed responses never outlive their user", replayed in a
// real browser against an app shaped like the ones that showed them: pages
// with validators, an origin-reflecting CORS middleware, uploaded HTML, a
// legacy-charset page. Each has a control route without the kit's protection
// (or with the old encoding) that shows the attack works in this browser.

// signedApp is a small app: scs sessions, the kit with AutoInsert, a login
// form, pages with ETags, uploads, and a CORS middleware in front.
type signedApp struct {
	kit      *prefinery.Kit
	sessions *scs.SessionManager
	srv      *httptest.Server
}

// accountTemplate is an account page that (like many apps) serves an ETag
// computed from its template version, not from who is signed in.
var accountTemplate = template.Must(template.New("account").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>Account</title></head>
<body><p id="who">{{.}}</p><form method="post" action="/logout"><button id="logout">Sign out</button></form></body></html>`))

func newSignedApp(t *testing.T, widgetURL string) *signedApp {
	return newSignedAppWith(t, widgetURL, "", nil)
}

// newSignedAppWith adds the app's own Content-Security-Policy (set by its
// secureHeaders middleware, outside the kit) and a Config edit.
func newSignedAppWith(t *testing.T, widgetURL, csp string, edit func(*prefinery.Config)) *signedApp {
	t.Helper()
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	sessions := scs.New()
	cfg := prefinery.Config{Secret: secret, Sessions: sessions, WidgetURL: widgetURL, AutoInsert: true}
	if edit != nil {
		edit(&cfg)
	}
	kit, err := prefinery.New(cfg)
	require.NoError(t, err)
	a := &signedApp{kit: kit, sessions: sessions}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><html><body><form method="post" action="/login"><input id="email" name="email"><button id="login-submit">Sign in</button></form></body></html>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := kit.Login(r.Context(), r.PostFormValue("email")); err != nil {
			http.Error(w, "login refused", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, kit.Logout(r.Context()))
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	account := func(w http.ResponseWriter, r *http.Request) {
		const etag = `"account-template-v1"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "private, max-age=0, must-revalidate")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = accountTemplate.Execute(w, sessions.GetString(r.Context(), "prefinery.identifier"))
	}
	mux.HandleFunc("GET /account", account)
	mux.HandleFunc("GET /uploads/report.html", func(w http.ResponseWriter, r *http.Request) {
		// A user's uploaded HTML, served sandboxed as the usual advice says.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "sandbox allow-scripts")
		_, _ = io.WriteString(w, `<!doctype html><html><body><p>report</p><script>
window.stolen = Array.from(document.scripts).map(s => s.textContent).join(" ");
</script></body></html>`)
	})
	mux.HandleFunc("GET /sjis", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=Shift_JIS")
		_, _ = io.WriteString(w, `<!doctype html><html><head><title>sjis</title></head><body><p>legacy page</p></body></html>`)
	})
	mux.HandleFunc("GET /sjis-control", func(w http.ResponseWriter, r *http.Request) {
		// What the kit emitted before: HTML-safe encoding/json, which keeps
		// non-ASCII bytes as they are.
		w.Header().Set("Content-Type", "text/html; charset=Shift_JIS")
		id := sessions.GetString(r.Context(), "prefinery.identifier")
		_, _ = io.WriteString(w, `<!doctype html><html><head><title>sjis</title><script>window.control = function (a) { window.controlArg = a };
control({"email":"`+strings.ReplaceAll(id, `"`, `\"`)+`"});</script></head><body></body></html>`)
	})
	// control routes: the same pages, mounted without the kit's middleware.
	control := http.NewServeMux()
	control.HandleFunc("GET /control/account", account)
	control.HandleFunc("POST /control/logout", func(w http.ResponseWriter, r *http.Request) {
		// A sign-out that does not tell the browser to drop its cache.
		require.NoError(t, sessions.RenewToken(r.Context()))
		sessions.Remove(r.Context(), "prefinery.identifier")
	})
	control.HandleFunc("GET /control/public", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "public data of "+sessions.GetString(r.Context(), "prefinery.identifier"))
	})
	top := http.NewServeMux()
	top.Handle("/control/", sessions.LoadAndSave(control))
	top.Handle("/", sessions.LoadAndSave(kit.Middleware(mux)))
	handler := reflectCORS(top)
	if csp != "" {
		handler = secureHeaders(csp, handler)
	}
	a.srv = httptest.NewServer(handler)
	t.Cleanup(a.srv.Close)
	return a
}

// secureHeaders is the CSP middleware of an app in the "Let's Go" style.
func secureHeaders(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Referrer-Policy", "origin-when-cross-origin")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// reflectCORS is the CORS middleware the attack used: it reflects any Origin
// and allows credentials.
func reflectCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Vary", "Origin")
		}
		next.ServeHTTP(w, r)
	})
}

// standInServer serves the demo's offline widget, which records every call.
func standInServer(t *testing.T) string {
	t.Helper()
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	demo, err := app.New(app.Options{Secret: secret})
	require.NoError(t, err)
	srv := httptest.NewServer(demo.Handler)
	t.Cleanup(srv.Close)
	return srv.URL + app.StandInPath
}

// goBack presses Back and waits until the page at path is shown, whether the
// browser restores it from its back/forward cache (no load event) or loads it.
func goBack(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(() => history.back(), 0)`)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Evaluating during the navigation fails ("context not found"): retry.
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path)))
		if err == nil && shown {
			break
		}
		require.True(t, time.Now().Before(deadline), "Back did not show %s (last error: %v)", path, err)
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let the stand-in widget replay its queue
}

// controlLogout signs out without the kit's Logout (no Clear-Site-Data).
func (a *signedApp) controlLogout(t *testing.T, ctx context.Context) {
	t.Helper()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/control/logout", {method: "POST"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
}

// loginAs signs identifier in through the form, in the browser.
func (a *signedApp) loginAs(t *testing.T, ctx context.Context, base, identifier string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), identifier),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("who")),
	))
}

// TestBrowserSharedProfile: Alice and then Bob on one browser profile. Bob
// never runs Alice's authenticateUser: not from a revalidated page (the app
// serves ETags and 304s), not through Back after Alice signed out.
func TestBrowserSharedProfile(t *testing.T) {
	h := newHarness(t)
	a := newSignedApp(t, standInServer(t))
	ctx := h.newUser()

	t.Run("control: without the kit, revalidation replays Alice's page to Bob", func(t *testing.T) {
		a.loginAs(t, ctx, a.srv.URL, "alice@example.com")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/control/account")))
		who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
		require.NoError(t, err)
		require.Equal(t, "alice@example.com", who)
		a.controlLogout(t, ctx)
		a.loginAs(t, ctx, a.srv.URL, "bob@example.com")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/control/account")))
		who, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", who, "the browser got 304 and showed Alice's page to Bob: the attack works here")
		a.controlLogout(t, ctx)
	})

	t.Run("with the kit, Bob gets his own page and signature", func(t *testing.T) {
		a.loginAs(t, ctx, a.srv.URL, "alice@example.com")
		auth := h.authCalls(ctx)
		require.Len(t, auth, 1)
		assert.Equal(t, map[string]string{"email": "alice@example.com", "signature": sign("alice@example.com")}, auth[0])
		a.controlLogout(t, ctx) // no Clear-Site-Data: no-store alone must hold
		a.loginAs(t, ctx, a.srv.URL, "bob@example.com")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/account")))
		who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
		require.NoError(t, err)
		assert.Equal(t, "bob@example.com", who)
		auth = h.authCalls(ctx)
		require.Len(t, auth, 1)
		assert.Equal(t, map[string]string{"email": "bob@example.com", "signature": sign("bob@example.com")}, auth[0])
		html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		require.NoError(t, err)
		assert.NotContains(t, html, sign("alice@example.com"))
	})

	t.Run("control: without the kit, Back after logout shows the previous user's page", func(t *testing.T) {
		a.loginAs(t, ctx, a.srv.URL, "erin@example.com")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/control/account?fresh=erin"))) // not cached before
		a.controlLogout(t, ctx)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("email"))))
		goBack(t, ctx, "/control/account")
		who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("who") || {}).textContent`))
		require.NoError(t, err)
		assert.Equal(t, "erin@example.com", who, "the browser showed the signed-out user's page again: the attack works here")
		a.loginAs(t, ctx, a.srv.URL, "bob@example.com")
	})

	t.Run("Back after logout never shows the previous user's signature", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(a.srv.URL+"/account"),
			chromedp.Click(chromedp.ID("logout")),
			chromedp.WaitVisible(chromedp.ID("email")),
		))
		goBack(t, ctx, "/account")
		html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		require.NoError(t, err)
		assert.NotContains(t, html, sign("bob@example.com"), "no signature in the page Back shows")
		assert.NotContains(t, html, "bob@example.com")
		calls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.prefineryCalls || [])`))
		require.NoError(t, err)
		assert.NotContains(t, calls, "authenticateUser", "nothing authenticates after logout")
	})
}

// TestBrowserSiblingOrigin: a page on evil.example.test (same site as
// app.example.test) fetches the app with credentials through the app's
// origin-reflecting CORS middleware: it can read a page without the identity,
// but never one that carries the signature.
func TestBrowserSiblingOrigin(t *testing.T) {
	h := newHarnessWith(t, chromedp.Flag("host-resolver-rules", "MAP *.example.test 127.0.0.1"))
	a := newSignedApp(t, standInServer(t))
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><title>evil</title>")
	}))
	t.Cleanup(evil.Close)
	appOrigin := "http://app.example.test:" + portOf(a.srv)
	evilOrigin := "http://evil.example.test:" + portOf(evil)

	ctx := h.newUser()
	a.loginAs(t, ctx, appOrigin, "carol@example.com")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(evilOrigin+"/")))
	read := func(path string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`fetch(%q, {credentials: "include"}).then(r => r.text()).catch(e => "blocked: " + e)`, appOrigin+path), chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		return out
	}
	assert.Equal(t, "public data of carol@example.com", read("/control/public"),
		"control: the CORS middleware lets the sibling read a page, with the victim's cookie")
	account := read("/account")
	assert.True(t, strings.HasPrefix(account, "blocked: "), "the signed page is not readable cross-origin: %.80q", account)
	assert.NotContains(t, account, sign("carol@example.com"))
	endpoint := read("/prefinery/identity")
	assert.NotContains(t, endpoint, sign("carol@example.com"))
}

// TestBrowserSandboxedUpload: uploaded HTML served with a CSP sandbox runs
// its scripts at an opaque origin; AutoInsert puts no snippet (and no
// signature) into it, while the app's own pages get it.
func TestBrowserSandboxedUpload(t *testing.T) {
	h := newHarness(t)
	a := newSignedApp(t, standInServer(t))
	ctx := h.newUser()
	a.loginAs(t, ctx, a.srv.URL, "dave@example.com")
	auth := h.authCalls(ctx)
	require.Len(t, auth, 1, "control: AutoInsert put the snippet into the account page")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/uploads/report.html")))
	stolen, err := chromedp.Run(ctx, chromedp.Poll[string](`typeof window.stolen === "string" && ("scripts: " + window.stolen)`))
	require.NoError(t, err)
	assert.NotContains(t, stolen, sign("dave@example.com"))
	assert.NotContains(t, stolen, "authenticateUser")
	origin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.origin`))
	require.NoError(t, err)
	assert.Equal(t, "null", origin, "the upload really runs sandboxed")
}

// TestBrowserShiftJIS: on a page served as Shift_JIS, an identifier whose
// UTF-8 bytes would swallow a JSON escape (Ё is D0 81; 81 5C is one Shift_JIS
// character) reaches prefinery() unchanged and runs nothing.
func TestBrowserShiftJIS(t *testing.T) {
	h := newHarness(t)
	a := newSignedApp(t, standInServer(t))
	ctx := h.newUser()
	const id = `Ё"});document.title='X';//@example.com`
	a.loginAs(t, ctx, a.srv.URL, id)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/sjis-control")))
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	assert.Equal(t, "X", title, "control: raw UTF-8 in the JSON breaks out of the string on this page")

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/sjis")))
	auth := h.authCalls(ctx)
	require.Len(t, auth, 1)
	assert.Equal(t, map[string]string{"email": id, "signature": sign(id)}, auth[0], "the identifier arrives byte for byte")
	title, err = chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	assert.Equal(t, "sjis", title, "nothing ran")
}

// portOf is the port a test server listens on.
func portOf(srv *httptest.Server) string {
	addr := srv.Listener.Addr().String()
	return addr[strings.LastIndex(addr, ":")+1:]
}

// TestBrowserAppCSP: an app with its own strict policy (default-src 'self';
// style-src 'self'), no nonce plumbing. The kit merges its nonce and the
// loader's origin into the policy: no violation, and the widget receives
// authenticateUser. Control: the same app with the merging off (the app
// claims the nonce itself and gives none) sees the kit's scripts blocked.
func TestBrowserAppCSP(t *testing.T) {
	const policy = "default-src 'self'; style-src 'self' fonts.googleapis.com; font-src fonts.gstatic.com"
	h := newHarness(t)
	widget := standInServer(t)

	t.Run("control: merging off, the policy blocks the kit", func(t *testing.T) {
		a := newSignedAppWith(t, widget, policy, func(c *prefinery.Config) {
			c.Nonce = func(*http.Request) string { return "" }
		})
		ctx := h.newUser()
		a.loginAs(t, ctx, a.srv.URL, "fay@example.com")
		time.Sleep(300 * time.Millisecond)
		assert.NotEmpty(t, h.violations(ctx), "the app's CSP blocks the kit's scripts")
		calls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.prefineryCalls || null)`))
		require.NoError(t, err)
		assert.Equal(t, "null", calls, "the widget never loaded")
	})

	t.Run("with the kit's merging: no violation, the widget gets the user", func(t *testing.T) {
		a := newSignedAppWith(t, widget, policy, nil)
		ctx := h.newUser()
		a.loginAs(t, ctx, a.srv.URL, "fay@example.com")
		auth := h.authCalls(ctx)
		require.Len(t, auth, 1)
		assert.Equal(t, map[string]string{"email": "fay@example.com", "signature": sign("fay@example.com")}, auth[0])
		assert.Empty(t, h.violations(ctx))
		res, err := http.Get(a.srv.URL + "/login")
		require.NoError(t, err)
		res.Body.Close()
		got := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, got, "default-src 'self'; style-src 'self' fonts.googleapis.com")
		assert.NotContains(t, got, "unsafe-inline")
	})
}
