package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// The promise matrix's browser side: a tab (its own browser context, so its
// own cookies and storage) with what the browser saw recorded: every
// response's headers, the raw headers of redirects (Clear-Site-Data), and
// why the back/forward cache did not restore a page.

// tab is one browser context in the suite's one browser. It runs one flow
// after another (a new tab costs Chromium about a second of CPU, as much as
// four page loads): between flows, [tab.reset] clears what a fresh context
// would not have, and a tab whose flow failed is closed, not reused.
type tab struct {
	root context.Context    // the tab, for its life
	ctx  context.Context    // the tab, until the current flow's deadline
	base string             // the current flow's app
	stop context.CancelFunc // closes the tab

	mu        sync.Mutex
	origins   map[string]bool              // every origin the flow requested
	firstURL  map[network.RequestID]string // the URL each request started at
	responses []seenResponse               // final responses (responseReceived)
	redirects []rawRedirect                // 3xx, raw headers (responseReceivedExtraInfo)
	notUsed   []string                     // bfcache NotRestoredReasons since the last Back
}

// seenResponse is a response the browser received.
type seenResponse struct {
	url     string
	status  int64
	headers map[string]string // lower-case names
}

type rawRedirect struct {
	id      network.RequestID
	status  int64
	headers map[string]string
}

// persistedScript records whether the page was shown from the back/forward
// cache (pageshow's persisted), in every document from its first byte.
const persistedScript = `window.__persisted = false; addEventListener("pageshow", e => { window.__persisted = e.persisted; });`

// openTab opens a tab in a browser context of its own (its own cookies,
// storage and HTTP cache) in the suite's one browser.
func openTab(browser context.Context) (*tab, error) {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &tab{root: ctx, ctx: ctx, stop: cancel, origins: map[string]bool{}, firstURL: map[network.RequestID]string{}}
	addScript := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: persistedScript})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(ctx, addScript); err != nil {
		cancel()
		return nil, err
	}
	if err := chromedp.Listen(ctx, tb.record); err != nil {
		cancel()
		return nil, err
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		cancel()
		return nil, err
	}
	return tb, nil
}

// runFlows runs every job in n tabs of the browser, each tab one job after
// another; done gets each job's error.
func runFlows[J any](browser context.Context, n int, jobs []J, run func(tb *tab, j J) error, done func(j J, err error)) {
	queue := make(chan J)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var tb *tab
			defer func() {
				if tb != nil {
					tb.stop()
				}
			}()
			for j := range queue {
				err := runInTab(browser, &tb, func(tb *tab) error { return run(tb, j) })
				done(j, err)
			}
		})
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()
}

// runInTab runs one flow in *tb (opened first if nil) under the flow's
// deadline, then readies the tab for the next flow, or closes it when the
// flow or the reset failed (the next flow then opens a new one: a reset
// that failed is the tab's problem, not the flow's).
func runInTab(browser context.Context, tb **tab, run func(tb *tab) error) error {
	if *tb == nil {
		t, err := openTab(browser)
		if err != nil {
			return fmt.Errorf("open a tab: %w", err)
		}
		*tb = t
	}
	t := *tb
	var cancel context.CancelFunc
	t.ctx, cancel = context.WithTimeout(t.root, 4*time.Minute) // a flow, on a loaded machine
	err := run(t)
	cancel()
	t.ctx = t.root
	if err == nil {
		rerr := t.reset()
		if rerr == nil {
			return nil
		}
		if debugMatrix {
			fmt.Printf("closing a tab: %v\n", rerr)
		}
	}
	t.stop()
	*tb = nil
	return err
}

// reset gives the next flow what a new browser context would: about:blank
// (the last page's scripts stopped), no cookies, an empty HTTP cache, no
// storage for any origin the last flow reached (sessionStorage, which
// belongs to the tab, cleared from the last page), no history (so no
// back/forward cache entry), and no records.
func (tb *tab) reset() error {
	ctx, cancel := context.WithTimeout(tb.root, 20*time.Second)
	defer cancel()
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`try { sessionStorage.clear(); localStorage.clear() } catch (e) {}`))
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		return fmt.Errorf("reset the tab: about:blank: %w", err)
	}
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		return fmt.Errorf("reset the tab: cookies: %w", err)
	}
	if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		return fmt.Errorf("reset the tab: HTTP cache: %w", err)
	}
	tb.mu.Lock()
	origins := tb.origins
	tb.origins = map[string]bool{}
	tb.mu.Unlock()
	for origin := range origins {
		if _, err := chromedp.Call(ctx, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: origin, StorageTypes: "all"}); err != nil {
			return fmt.Errorf("reset the tab: storage of %s: %w", origin, err)
		}
	}
	if _, err := chromedp.Call(ctx, page.ResetNavigationHistory, cdp.Empty{}); err != nil {
		return fmt.Errorf("reset the tab: history: %w", err)
	}
	urls := make([]string, 0, len(origins))
	for origin := range origins {
		urls = append(urls, origin+"/")
	}
	left, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: urls})
	if err != nil {
		return fmt.Errorf("reset the tab: cookies: %w", err)
	}
	if len(left.Cookies) > 0 {
		return fmt.Errorf("reset the tab: %d cookies left", len(left.Cookies))
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.firstURL = map[network.RequestID]string{}
	tb.responses, tb.redirects, tb.notUsed = nil, nil, nil
	return nil
}

func lowerHeaders(h network.Headers) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		s, _ := v.(string)
		out[strings.ToLower(k)] = s
	}
	return out
}

func (tb *tab) record(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if u, err := url.Parse(e.Request.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			tb.origins[u.Scheme+"://"+u.Host] = true
		}
		if _, ok := tb.firstURL[e.RequestID]; !ok {
			tb.firstURL[e.RequestID] = e.Request.Method + " " + e.Request.URL
		}
	case *network.EventResponseReceived:
		tb.responses = append(tb.responses, seenResponse{url: e.Response.URL, status: e.Response.Status, headers: lowerHeaders(e.Response.Headers)})
	case *network.EventResponseReceivedExtraInfo:
		if e.StatusCode >= 300 && e.StatusCode < 400 {
			tb.redirects = append(tb.redirects, rawRedirect{id: e.RequestID, status: e.StatusCode, headers: lowerHeaders(e.Headers)})
		}
	case *page.EventBackForwardCacheNotUsed:
		for _, x := range e.NotRestoredExplanations {
			tb.notUsed = append(tb.notUsed, string(x.Reason))
		}
	}
}

// redirectsOf returns the raw redirect headers of requests that started at
// method+" "+path on this tab's origin.
func (tb *tab) redirectsOf(methodPath string) []map[string]string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []map[string]string
	for _, r := range tb.redirects {
		first := tb.firstURL[r.id]
		method, u, _ := strings.Cut(first, " ")
		if method+" "+strings.TrimPrefix(u, tb.base) == methodPath {
			out = append(out, r.headers)
		}
	}
	return out
}

// seen returns every response recorded so far.
func (tb *tab) seen() []seenResponse {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]seenResponse(nil), tb.responses...)
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tb.ctx, 45*time.Second)
	defer cancel()
	began := time.Now()
	err := chromedp.Do(ctx, actions...)
	if debugMatrix {
		fmt.Printf("%s %s %d actions %v\n", time.Now().Format("15:04:05.000"), tb.base, len(actions), time.Since(began).Round(time.Millisecond))
	}
	return err
}

var debugMatrix = os.Getenv("PREFINERY_MATRIX_DEBUG") != ""

// visit loads path and waits for the element with id.
func (tb *tab) visit(path, id string) error {
	if err := tb.do(chromedp.Navigate(tb.base+path), chromedp.WaitVisible(chromedp.ID(id))); err != nil {
		return fmt.Errorf("visit %s: %w", path, err)
	}
	return nil
}

// click clicks the element with id and waits for the element with waitID.
func (tb *tab) click(id, waitID string) error {
	if err := tb.do(chromedp.Click(chromedp.ID(id)), chromedp.WaitVisible(chromedp.ID(waitID))); err != nil {
		return fmt.Errorf("click #%s, wait #%s: %w", id, waitID, err)
	}
	return nil
}

// login signs email in through the app's form, then lands on next, whose
// page has an element #who.
func (tb *tab) login(email, next string) error {
	if err := tb.visit("/login?next="+next, "email"); err != nil {
		return err
	}
	if err := tb.do(chromedp.SetValue(chromedp.ID("email"), email)); err != nil {
		return err
	}
	return tb.click("login-submit", "who")
}

// evalIn evaluates js in the page; an evaluation that outlives 5 s (a
// document gone mid-navigation) is an error, not a hang.
func evalIn[T any](tb *tab, js string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

func awaitIn[T any](tb *tab, js string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// pollIn evaluates js until it gives a truthy value (of type T) or timeout
// passes; evaluations that fail during a navigation are tried again.
func pollIn[T any](tb *tab, js string, timeout time.Duration) (T, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := evalIn[any](tb, js)
		if err == nil && v != nil && v != false && v != "" && v != float64(0) {
			var out T
			b, _ := json.Marshal(v)
			return out, json.Unmarshal(b, &out)
		}
		if time.Now().After(deadline) {
			var zero T
			if err == nil {
				err = fmt.Errorf("still %v", v)
			}
			return zero, fmt.Errorf("polling %.60q for %s: %w", js, timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// html is the whole document as the browser holds it now.
func (tb *tab) html() (string, error) {
	return evalIn[string](tb, `document.documentElement.outerHTML`)
}

// authCall is one authenticateUser call's parameters.
type authCall map[string]string

// authCalls waits for the stand-in to load and returns the authenticateUser
// calls it recorded in window.prefineryCalls.
func (tb *tab) authCalls() ([]authCall, error) {
	raw, err := pollIn[string](tb, `document.readyState === "complete" && window.prefineryCalls && JSON.stringify(window.prefineryCalls.map(c => c.map(a => typeof a === "function" ? "fn" : a)))`, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("window.prefineryCalls: %w", err)
	}
	var calls [][]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &calls); err != nil {
		return nil, err
	}
	var out []authCall
	for _, c := range calls {
		var name string
		if len(c) < 2 || json.Unmarshal(c[0], &name) != nil || name != "authenticateUser" {
			continue
		}
		var params authCall
		if err := json.Unmarshal(c[1], &params); err != nil {
			return nil, err
		}
		out = append(out, params)
	}
	return out, nil
}

// endpointAnswer is what fetch("/prefinery/identity") got.
type endpointAnswer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func (tb *tab) endpoint() (endpointAnswer, error) {
	var a endpointAnswer
	raw, err := awaitIn[string](tb, `fetch("/prefinery/identity").then(async r => JSON.stringify({status: r.status, body: await r.text()}))`)
	if err == nil {
		err = json.Unmarshal([]byte(raw), &a)
	}
	return a, err
}

// post sends a same-origin POST from the page and returns its status.
func (tb *tab) post(path string) (int, error) {
	return awaitIn[int](tb, fmt.Sprintf(`fetch(%q, {method: "POST"}).then(r => r.status)`, path))
}

// backShown is what Back showed.
type backShown struct {
	persisted bool     // the page came from the back/forward cache (pageshow persisted)
	reasons   []string // why it did not (Page.backForwardCacheNotUsed)
	html      string
	auth      []authCall
}

func (b backShown) String() string {
	if b.persisted {
		return "restored from the back/forward cache (pageshow persisted)"
	}
	if len(b.reasons) == 0 {
		return "loaded again (no bfcache entry)"
	}
	return "loaded again; bfcache not used: " + strings.Join(b.reasons, ", ")
}

// back presses Back and waits until the page at path is shown, whether from
// the back/forward cache or loaded again.
func (tb *tab) back(path string) (backShown, error) {
	var b backShown
	tb.mu.Lock()
	tb.notUsed = nil
	tb.mu.Unlock()
	if err := tb.do(chromedp.Evaluate[chromedp.Void](`setTimeout(() => history.back(), 0)`)); err != nil {
		return b, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		shown, err := evalIn[bool](tb, fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path))
		if err == nil && shown {
			break
		}
		if time.Now().After(deadline) {
			return b, fmt.Errorf("Back did not show %s (last error: %v)", path, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	var err error
	if b.persisted, err = evalIn[bool](tb, `window.__persisted === true`); err != nil {
		return b, err
	}
	if b.auth, err = tb.authCalls(); err != nil {
		return b, err
	}
	if b.html, err = tb.html(); err != nil {
		return b, err
	}
	time.Sleep(50 * time.Millisecond) // the event comes at commit; let it land
	tb.mu.Lock()
	b.reasons = append([]string(nil), tb.notUsed...)
	tb.mu.Unlock()
	sort.Strings(b.reasons)
	return b, nil
}

// waitLib waits for the page-swapping library: htmx ("hx") or Turbo ("tb").
func (tb *tab) waitLib(lib string) error {
	if lib == "hx" {
		return tb.waitHTMX()
	}
	_, err := pollIn[bool](tb, `typeof Turbo === "object" && document.readyState === "complete"`, 10*time.Second)
	if err != nil {
		return fmt.Errorf("Turbo did not load: %w", err)
	}
	return nil
}

// waitHTMX waits until htmx has loaded and processed the page.
func (tb *tab) waitHTMX() error {
	_, err := pollIn[bool](tb, `typeof htmx === "object" && document.readyState === "complete"`, 10*time.Second)
	if err != nil {
		return fmt.Errorf("htmx did not load: %w", err)
	}
	time.Sleep(20 * time.Millisecond) // htmx processes the body on DOMContentLoaded + a tick
	return nil
}

// htmxStorage is what htmx keeps of swapped-out pages.
func (tb *tab) htmxStorage() (string, error) {
	return evalIn[string](tb, `JSON.stringify([sessionStorage.getItem("htmx-history-cache"), localStorage.getItem("htmx-history-cache")])`)
}

// waitPath waits until the document's path is path and the element with id
// is there (a swap by htmx, or a load).
func (tb *tab) waitPath(path, id string) error {
	_, err := pollIn[bool](tb, fmt.Sprintf(`location.pathname === %q && !!document.getElementById(%q) && document.readyState === "complete"`, path, id), 10*time.Second)
	if err != nil {
		return fmt.Errorf("waiting for %s #%s: %w", path, id, err)
	}
	return nil
}

// Shorthands for the actions the flows repeat.
func chromedpClick(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.ID(id))
}

func chromedpEval(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](js)
}

func chromedpSetValue(id, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.ID(id), v)
}

// turboJS is Turbo 8 (dist/turbo.es2017-umd.js of the npm package
// @hotwired/turbo), which .ci/run fetches from the npm registry into TURBO_JS.
func turboJS(t *testing.T) []byte {
	return npmFile(t, "TURBO_JS", "npm pack @hotwired/turbo@8, and point TURBO_JS at package/dist/turbo.es2017-umd.js")
}
