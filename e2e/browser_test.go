package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/examples/basic/app"
	"github.com/prefinerykit/prefinery/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secretText = "e2e-test-secret-0123456789abcdef"

// sign computes a signature independently of the kit, with crypto/hmac.
func sign(identifier string) string {
	mac := hmac.New(sha256.New, []byte(secretText))
	mac.Write([]byte(identifier))
	return hex.EncodeToString(mac.Sum(nil))
}

// chromiumPath finds Debian's chromium, or CHROME_BIN.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "headless Chromium not found: apt-get install -y chromium (or set CHROME_BIN); .ci/run installs it"
	if os.Getenv("PREFINERY_REQUIRE_BROWSER") != "" {
		t.Fatal(msg) // CI installed it: a missing browser is a failure there
	}
	t.Skip(msg)
	return ""
}

// harness is the example app on loopback and one headless browser.
type harness struct {
	t      *testing.T
	srv    *httptest.Server
	widget *standin.Widget // the demo's stand-in: the calls pages reported
	alloc  context.Context // the browser
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t) }

// newHarnessWith starts the browser with extra options.
func newHarnessWith(t *testing.T, extra ...chromedp.ExecAllocatorOption) *harness {
	t.Helper()
	bin := chromiumPath(t)
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	demo, err := app.New(app.Options{Secret: secret, MaxIdentifierLength: 2048})
	require.NoError(t, err)
	require.NotNil(t, demo.StandIn, "the app loads the recording stand-in widget")
	srv := httptest.NewServer(demo.Handler) // 127.0.0.1 only
	t.Cleanup(srv.Close)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// CPU, not behaviour: the suites' pages are small and the machine
		// has two cores. Fewer renderer processes (Chromium shares one
		// among pages of a site, as it does under memory pressure; each
		// browser context still has its own) and a small window to paint
		// cut the promise matrix's CPU by a fifth; every control still holds.
		chromedp.Flag("renderer-process-limit", "2"),
		chromedp.WindowSize(320, 240),
		chromedp.UserDataDir(t.TempDir()),
	}
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	// Start the browser with a first context that lives as long as the test.
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Do(browser))
	return &harness{t: t, srv: srv, widget: demo.StandIn, alloc: browser}
}

// newUser opens an isolated browser context (its own cookies, like a separate
// browser profile) that records CSP violations from the first byte of each page.
func (h *harness) newUser() context.Context {
	h.t.Helper()
	ctx, cancel := chromedp.NewContext(h.alloc, chromedp.WithNewBrowserContext())
	h.t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	h.t.Cleanup(cancelTimeout)
	recordViolations := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__csp = []; document.addEventListener("securitypolicyviolation",
				e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`,
		})
		return chromedp.Void{}, err
	}
	require.NoError(h.t, chromedp.Do(ctx, recordViolations))
	return ctx
}

// call is one recorded prefinery(...) call.
type call []json.RawMessage

// calls waits for the stand-in widget to load and returns what it recorded.
func (h *harness) calls(ctx context.Context) []call {
	h.t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Poll[[]byte](
		`document.readyState === "complete" && window.prefineryCalls && JSON.stringify(window.prefineryCalls.map(c => c.map(a => typeof a === "function" ? "fn" : a)))`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(h.t, err)
	var s string
	require.NoError(h.t, json.Unmarshal(raw, &s))
	var out []call
	require.NoError(h.t, json.Unmarshal([]byte(s), &out))
	return out
}

// authCalls returns the parameters of every authenticateUser call.
func (h *harness) authCalls(ctx context.Context) []map[string]string {
	h.t.Helper()
	return h.callsNamed(ctx, "authenticateUser")
}

// callsNamed returns the parameters of every call of the Web API call named.
func (h *harness) callsNamed(ctx context.Context, named string) []map[string]string {
	h.t.Helper()
	var out []map[string]string
	for _, c := range h.calls(ctx) {
		var name string
		require.NoError(h.t, json.Unmarshal(c[0], &name))
		if name != named {
			continue
		}
		var params map[string]string
		require.NoError(h.t, json.Unmarshal(c[1], &params))
		out = append(out, params)
	}
	return out
}

func (h *harness) violations(ctx context.Context) []string {
	h.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
	require.NoError(h.t, err)
	return v
}

// login types the identifier into the real form and submits it.
func (h *harness) login(ctx context.Context, identifier string, typeIt bool) {
	h.t.Helper()
	fill := chromedp.SetValue(chromedp.ID("email"), identifier)
	if typeIt {
		fill = chromedp.SendKeys(chromedp.ID("email"), identifier)
	}
	require.NoError(h.t, chromedp.Do(ctx,
		chromedp.Navigate(h.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		fill,
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("account-email")),
	))
}

func TestBrowser(t *testing.T) {
	h := newHarness(t)
	ctx := h.newUser()

	t.Run("anonymous visit records no authenticateUser", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/")))
		assert.Empty(t, h.authCalls(ctx))
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/spa")))
		status, err := chromedp.Run(ctx, chromedp.Poll[string](`(t => t !== "Loading…" && t)(document.getElementById("spa-status").textContent)`))
		require.NoError(t, err)
		assert.Equal(t, "Not signed in (401).", status)
		code, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/prefinery/identity").then(r => r.status)`, chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Empty(t, h.authCalls(ctx))
	})

	const email = "browser.user@example.com"
	t.Run("login through the form renders one authenticateUser call", func(t *testing.T) {
		h.login(ctx, email, true)
		auth := h.authCalls(ctx)
		require.Len(t, auth, 1)
		assert.Equal(t, email, auth[0]["email"])
		assert.Equal(t, sign(email), auth[0]["signature"], "the browser's signature is the user's")
		assert.Len(t, auth[0], 2, "exactly email and signature")
	})

	t.Run("the referral page renders from the stand-in, and the Go side saw the calls", func(t *testing.T) {
		text, err := chromedp.Run(ctx, chromedp.Poll[string](`(e => e && e.textContent)(document.querySelector("#referrals .prefinery-standin-referral-page"))`,
			chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err)
		assert.Equal(t, "Referral page for "+email+" (offline stand-in)", text)
		deadline := time.Now().Add(10 * time.Second)
		names := func() []string {
			var out []string
			for _, c := range h.widget.Calls() {
				out = append(out, c.Name)
			}
			return out
		}
		for !slices.Contains(names(), "embedReferralPage") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		assert.Contains(t, names(), "authenticateUser")
		assert.Contains(t, names(), "embedReferralPage")
	})

	t.Run("the stand-in's button sends a signed webhook the app verifies and shows", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/webhooks"), chromedp.WaitVisible(chromedp.ID("prefinery-standin-send-webhook"))))
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("prefinery-standin-send-webhook"))))
		answer, err := chromedp.Run(ctx, chromedp.Poll[string](`(t => t.startsWith("Webhook answered") && t)(document.getElementById("prefinery-standin-send-webhook").textContent)`,
			chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err)
		assert.Equal(t, "Webhook answered 200", answer)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/webhooks")))
		events, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("webhook-events")))
		require.NoError(t, err)
		assert.Contains(t, events, "tester_created")
		assert.Empty(t, h.violations(ctx))
	})

	t.Run("strict CSP: the snippet runs, nothing violates", func(t *testing.T) {
		res, err := http.Get(h.srv.URL + "/")
		require.NoError(t, err)
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'nonce-")
		assert.NotContains(t, csp, "unsafe-inline")
		assert.Empty(t, h.violations(ctx), "no securitypolicyviolation on the account page")
		// Control: the policy is really enforced in this browser. An inline
		// event handler (markup an injection would add) must not run.
		require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](
			`(b => { b.setAttribute("onclick", "window.injected = 1"); document.body.appendChild(b); b.click(); })(document.createElement("button"))`)))
		injected, err := chromedp.Run(ctx, chromedp.Evaluate[*int](`window.injected`))
		require.NoError(t, err)
		assert.Nil(t, injected, "inline script without the nonce is blocked")
		assert.NotEmpty(t, h.violations(ctx), "and reported")
	})

	t.Run("the SPA page gets the same identity from the endpoint", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/spa")))
		_, err := chromedp.Run(ctx, chromedp.Poll[string](`(t => t.startsWith("authenticateUser called") && t)(document.getElementById("spa-status").textContent)`))
		require.NoError(t, err)
		auth := h.authCalls(ctx)
		require.Len(t, auth, 1)
		assert.Equal(t, map[string]string{"email": email, "signature": sign(email)}, auth[0])
		assert.Empty(t, h.violations(ctx))
	})

	t.Run("logout: the next page records no call", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(h.srv.URL+"/account"),
			chromedp.Click(chromedp.ID("logout")),
			chromedp.WaitVisible(chromedp.ID("login-link")),
		))
		assert.Empty(t, h.authCalls(ctx))
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/")))
		assert.Empty(t, h.authCalls(ctx))
	})
}

// hostile identifiers, each signed in as its own user.
var hostile = []string{
	`a"b@x.com`,
	`</script><script>window.pwned=1</script>@x.com`,
	`x@y.com<!--`,
	"line\u2028sep\u2029para@x.com",
	"back`tick${window.pwned=1}@x.com",
	strings.Repeat("ü€𝄞", 166) + "ab", // 500 characters of Unicode
}

func TestBrowserHostileIdentifiers(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, 500, len([]rune(hostile[len(hostile)-1])))
	for _, id := range hostile {
		t.Run(strings.ToValidUTF8(id[:min(len(id), 24)], "?"), func(t *testing.T) {
			ctx := h.newUser()
			h.login(ctx, id, false)
			auth := h.authCalls(ctx)
			require.Len(t, auth, 1)
			assert.Equal(t, id, auth[0]["email"], "the identifier reaches prefinery() unchanged")
			assert.Equal(t, sign(id), auth[0]["signature"])
			referral := h.callsNamed(ctx, "embedReferralPage")
			require.Len(t, referral, 1)
			assert.Equal(t, map[string]string{"dom_id": "referrals", "email": id, "signature": sign(id)}, referral[0],
				"the referral page's call carries the same identifier, unchanged")
			pwned, err := chromedp.Run(ctx, chromedp.Evaluate[*int](`window.pwned`))
			require.NoError(t, err)
			assert.Nil(t, pwned, "nothing else ran")
			shown, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("account-email")))
			require.NoError(t, err)
			assert.Equal(t, id, shown, "the page shows it as text")
			assert.Empty(t, h.violations(ctx))
		})
	}
}

// TestBrowserTwoUsersAtOnce: two isolated browser contexts signed in as
// different users at the same time never see each other's identity.
func TestBrowserTwoUsersAtOnce(t *testing.T) {
	h := newHarness(t)
	a, b := h.newUser(), h.newUser()
	h.login(a, "alice@example.com", true)
	h.login(b, "bob@example.com", true)
	for range 3 {
		for _, u := range []struct {
			ctx         context.Context
			self, other string
		}{{a, "alice@example.com", "bob@example.com"}, {b, "bob@example.com", "alice@example.com"}} {
			require.NoError(t, chromedp.Do(u.ctx, chromedp.Navigate(h.srv.URL+"/account")))
			auth := h.authCalls(u.ctx)
			require.Len(t, auth, 1)
			assert.Equal(t, u.self, auth[0]["email"])
			html, err := chromedp.Run(u.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			require.NoError(t, err)
			assert.NotContains(t, html, u.other)
			assert.NotContains(t, html, sign(u.other))
			body, err := chromedp.Run(u.ctx, chromedp.Evaluate[string](`fetch("/prefinery/identity").then(r => r.text())`, chromedp.EvalAwaitPromise))
			require.NoError(t, err)
			assert.Contains(t, body, u.self)
			assert.NotContains(t, body, u.other)
		}
	}
}
