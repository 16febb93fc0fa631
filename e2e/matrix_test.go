package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gomodule/redigo/redis"
)

// TestPromiseMatrix holds every promise of SECURITY.md and the README that a
// browser can observe, in every way an app wires the kit: rows are the
// promises, columns the wiring modes (scs memstore, scs over Redis,
// Config.User, kit.Login per request without Sessions) × the routers the
// README shows (net/http, chi, gin through prefinerygin, Echo). One headless
// Chromium serves every cell; each flow runs in a browser context of its own
// on its column's app. Where the browser decides, the cell has a control
// that shows the failure is visible to the test (a page the kit does not
// protect, or the same flow without the step that protects it).
//
// A cell listed in knownGap is a failure the suite detects today and the
// root package has yet to fix: it skips with what the browser showed. Once
// it holds, the cell fails with "delete the knownGap entry", so a fix is
// seen passing.
//
// Sub-tests read as the matrix: TestPromiseMatrix/<promise>/<mode>/<router>.
// The summary table is logged at the end.
func TestPromiseMatrix(t *testing.T) {
	start := time.Now()
	js, turbo := htmxJS(t), turboJS(t)
	h := newHarness(t) // the suite's one browser
	gin.SetMode(gin.ReleaseMode)

	redisAddr, redisMissing := startRedis(t)
	var pool *redis.Pool
	if redisAddr != "" {
		pool = newRedisPool(redisAddr)
		t.Cleanup(func() { _ = pool.Close() })
	}

	// Build every column's app.
	var columns []column
	apps := map[column]*matrixApp{}
	for _, m := range matrixModes {
		for _, r := range matrixRouters {
			col := column{m, r}
			columns = append(columns, col)
			if m == modeRedis && pool == nil {
				continue
			}
			a, err := newMatrixApp(col, pool, js, turbo)
			if err != nil {
				t.Fatalf("%s: %v", col, err)
			}
			t.Cleanup(a.srv.Close)
			apps[col] = a
		}
	}

	// Run every flow of every column, a few tabs at a time.
	observed := map[column]*observations{}
	type job struct {
		col  column
		flow flow
	}
	var jobs []job
	only := os.Getenv("PREFINERY_MATRIX_ONLY") // e.g. "login-per-request/gin", to debug one column
	for _, col := range columns {
		observed[col] = &observations{errs: map[string]error{}}
		if apps[col] == nil || only != "" && !strings.HasPrefix(col.String(), only) {
			continue
		}
		for _, f := range flows {
			jobs = append(jobs, job{col, f})
		}
	}
	tabs := matrixTabs(3) // two cores: a fourth tab only adds contention (measured: 3 tabs 106 s, 6 tabs 112 s)
	flowTimes := map[string]time.Duration{}
	var timesMu sync.Mutex
	runFlows(h.alloc, tabs, jobs, func(tb *tab, j job) error {
		tb.base = apps[j.col].srv.URL
		began := time.Now()
		defer func() {
			timesMu.Lock()
			flowTimes[j.flow.name] += time.Since(began)
			timesMu.Unlock()
		}()
		return j.flow.run(tb, apps[j.col], observed[j.col])
	}, func(j job, err error) {
		o := observed[j.col]
		o.mu.Lock()
		o.errs[j.flow.name] = err
		o.mu.Unlock()
	})
	flowsTook := time.Since(start)

	// Judge every cell.
	results := judgeMatrix(t, promises, matrixModes, observed, func(col column) string {
		if apps[col] == nil {
			return redisMissing
		}
		return ""
	})
	t.Log(summary(results, promises, matrixModes, flowsTook, time.Since(start), len(jobs), tabs))
	var took []string
	for _, f := range flows {
		took = append(took, fmt.Sprintf("%s %s", f.name, flowTimes[f.name].Round(time.Millisecond)))
	}
	t.Logf("time in each flow, all columns: %s", strings.Join(took, ", "))
}

// knownGap lists the cells that fail today, each with the finding it
// belongs to. Keys are promise/mode/router; "*" stands for any mode or
// router. Delete an entry once the root package keeps the promise there: the
// cell then fails until the entry is gone.
var knownGap = map[string]string{
	// Turbo Drive appends a page's new <head> scripts (the next user is
	// announced) and never removes the old ones, so the previous user's signed
	// script stays in document.head until a full load. The kit cannot reach
	// Turbo's head merge; the README says: with Turbo, put the embed in
	// <body>, which the turbo-body row proves holds in every column.
	"turbo-head/*/*": "documented limit: with Turbo, the embed goes in <body> (turbo-body holds)",
}

// matrixTabs is how many tabs a matrix runs its flows in: PREFINERY_MATRIX_TABS,
// or def.
func matrixTabs(def int) int {
	if n, err := strconv.Atoi(os.Getenv("PREFINERY_MATRIX_TABS")); err == nil && n > 0 {
		return n
	}
	return def
}

// gapFor returns the knownGap entry that covers the cell, if any.
func gapFor(promise string, col column) string {
	for _, key := range []string{
		promise + "/" + col.String(),
		promise + "/" + string(col.mode) + "/*",
		promise + "/*/" + string(col.router),
		promise + "/*/*",
	} {
		if reason, ok := knownGap[key]; ok {
			return reason
		}
	}
	return ""
}

// judgeMatrix runs a sub-test per cell, TestX/<promise>/<mode>/<router>,
// judging each column's observations; missing says why a column has no app
// ("" when it has one). It returns each cell's mark for the summary.
func judgeMatrix(t *testing.T, rows []promise, modes []mode, observed map[column]*observations, missing func(column) string) map[string]string {
	results := map[string]string{} // promise/column → PASS, FAIL, GAP, SKIP
	var resultsMu sync.Mutex
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for _, m := range modes {
				t.Run(string(m), func(t *testing.T) {
					for _, r := range matrixRouters {
						col := column{m, r}
						t.Run(string(r), func(t *testing.T) {
							judgeCell(t, row, col, observed[col], missing(col), func(status string) {
								resultsMu.Lock()
								results[row.name+"/"+col.String()] = status
								resultsMu.Unlock()
							})
						})
					}
				})
			}
		})
	}
	return results
}

// judgeCell applies a row's check to a column's observations and reports
// it; record gets the cell's mark for the summary (before a skip, which ends
// the sub-test).
func judgeCell(t *testing.T, row promise, col column, o *observations, missing string, record func(string)) {
	t.Helper()
	if missing != "" {
		record("SKIP")
		t.Skip(missing)
	}
	o.mu.Lock()
	err, ran := o.errs[row.flow]
	o.mu.Unlock()
	if !ran {
		record("SKIP")
		t.Skipf("flow %q did not run (PREFINERY_MATRIX_ONLY)", row.flow)
	}
	if err != nil {
		record("FAIL")
		t.Fatalf("flow %q: %v", row.flow, err)
	}
	broken, control := row.check(o)
	if row.seen != nil {
		t.Log(row.seen(o))
	}
	for _, c := range control {
		t.Errorf("control: %s (the test could not see this failure here)", c)
	}
	gap := gapFor(row.name, col)
	switch {
	case gap != "" && len(broken) > 0 && len(control) == 0:
		record("GAP")
		t.Skipf("known gap (%s): %s", gap, strings.Join(broken, "; "))
	case gap != "" && len(broken) == 0 && len(control) == 0:
		record("FAIL")
		t.Fatalf("listed in knownGap (%s) but the promise holds now: delete the entry", gap)
	}
	for _, b := range broken {
		t.Error(b)
	}
	if len(broken) > 0 || len(control) > 0 {
		record("FAIL")
		return
	}
	record("PASS")
}

// summary is the matrix as a table: one line per promise, one mark per
// column (. holds, X fails, g known gap, - skipped).
func summary(results map[string]string, rows []promise, modes []mode, flowsTook, total time.Duration, flowsRun, tabs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "promise matrix: %d flows on %d tabs in %s, %s in all\n", flowsRun, tabs, flowsTook.Round(time.Millisecond), total.Round(time.Millisecond))
	fmt.Fprintf(&b, "  . holds   X fails   g known gap (skipped, see knownGap)   - skipped\n")
	fmt.Fprintf(&b, "  columns: modes %s, each × routers %s\n", joinModes(modes), joinRouters())
	width := 0
	for _, p := range rows {
		width = max(width, len(p.name))
	}
	fmt.Fprintf(&b, "  %-*s", width, "")
	for _, m := range modes {
		fmt.Fprintf(&b, " | %-*s", 2*len(matrixRouters)-1, shortMode[m])
	}
	b.WriteString("\n")
	counts := map[string]int{}
	for _, p := range rows {
		fmt.Fprintf(&b, "  %-*s", width, p.name)
		for _, m := range modes {
			b.WriteString(" |")
			for _, r := range matrixRouters {
				status := results[p.name+"/"+column{m, r}.String()]
				counts[status]++
				b.WriteString(" " + map[string]string{"PASS": ".", "FAIL": "X", "GAP": "g", "SKIP": "-"}[status])
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  %d hold, %d fail, %d known gaps, %d skipped", counts["PASS"], counts["FAIL"], counts["GAP"], counts["SKIP"])
	return b.String()
}

var shortMode = map[mode]string{modeSCS: "scs", modeRedis: "redis", modeUser: "User", modeLogin: "Login", modeSPAKit: "kit", modeSPAApp: "appCORS", modeSPAReadme: "README"}

func joinModes(modes []mode) string {
	var s []string
	for _, m := range modes {
		s = append(s, shortMode[m]+"="+string(m))
	}
	return strings.Join(s, ", ")
}

func joinRouters() string {
	var s []string
	for _, r := range matrixRouters {
		s = append(s, string(r))
	}
	return strings.Join(s, " ")
}

// --- flows: what each column's browser does ----------------------------------

// observations is what one column's flows saw.
type observations struct {
	mu   sync.Mutex
	errs map[string]error // flow name → its error (nil: it ran through)

	// flow "logout"
	firstAuth               []authCall
	endpointIn, endpointOut endpointAnswer
	backControl, backAfter  backShown
	backKept                backShown // Back after a logout that left the app's cookie
	afterLogoutHTML         string
	afterLogoutAuth         []authCall
	secondHTML, secondWho   string
	secondRevalidated       bool // the browser revalidated /account and got 304
	secondAuth              []authCall
	secondEndpoint          endpointAnswer
	logoutRedirects         []map[string]string
	responses               []seenResponse // every response the tab received
	signedResponses         []seenResponse // /account and the endpoint while a user was signed in

	// flow "logout", its HTTP cache steps
	cacheKitHTML, cacheControlHTML string

	// flow "htmx-history"
	hxControlStorage, hxControlRestored string
	hxStorage, hxRestored               string

	// flows "htmx-boost-*" and "turbo-*"
	boost       map[string]*boostSeen // by lib-place
	controlHead map[string]string     // by lib: <head> after a swap from a hand-signed page

	// flows "spa-*" (TestPromiseMatrixSPA)
	spa spaSeen
}

// boostSeen is what an htmx hx-boost sign-out and sign-in showed.
type boostSeen struct {
	firstAnnounced, secondAnnounced  bool
	afterLogoutHTML, afterLogoutHead string
	afterLoginHTML, afterLoginHead   string
}

type flow struct {
	name string
	run  func(tb *tab, a *matrixApp, o *observations) error
}

var flows = []flow{
	{"logout", flowLogout},
	{"htmx-history", flowHTMXHistory},
	{"htmx-boost-head", func(tb *tab, a *matrixApp, o *observations) error { return flowBoost(tb, a, o, "hx", "head") }},
	{"htmx-boost-body", func(tb *tab, a *matrixApp, o *observations) error { return flowBoost(tb, a, o, "hx", "body") }},
	{"turbo-head", func(tb *tab, a *matrixApp, o *observations) error { return flowBoost(tb, a, o, "tb", "head") }},
	{"turbo-body", func(tb *tab, a *matrixApp, o *observations) error { return flowBoost(tb, a, o, "tb", "body") }},
}

// The users of each flow (the apps are per column; flows of a column run
// side by side, so each flow has its own).
const (
	alice = "alice@example.com" // logout: first user
	bob   = "bob@example.com"   // logout: second user, same tab
	carol = "carol@example.com" // http-cache: after bob
	erin  = "erin@example.com"  // htmx-history
)

// flowLogout: the public page, alice signs in, Back with nothing changed
// (the control), alice signs out, Back, the account page and the endpoint
// signed out, then bob signs in on the same tab.
func flowLogout(tb *tab, _ *matrixApp, o *observations) error {
	// The public page (the app lets caches keep it) and its control, fetched
	// from the sign-in page: the browser sees their headers.
	if err := tb.visit("/login", "email"); err != nil {
		return err
	}
	for _, p := range []string{"/welcome", "/control/welcome"} {
		if _, err := awaitIn[int](tb, fmt.Sprintf(`fetch(%q).then(r => r.status)`, p)); err != nil {
			return err
		}
	}
	mark := len(tb.seen())
	if err := tb.login(alice, "/account"); err != nil {
		return err
	}
	var err error
	if o.firstAuth, err = tb.authCalls(); err != nil {
		return err
	}
	// Control: Back to alice's page with nothing changed comes from the
	// back/forward cache, signature and all: the test sees a restore. (No
	// fetch from the page before: a page whose script got a no-store answer
	// is never kept, JsNetworkRequestReceivedCacheControlNoStoreResource.)
	if err := tb.click("away", "email"); err != nil {
		return err
	}
	if o.backControl, err = tb.back("/account"); err != nil {
		return err
	}
	if o.endpointIn, err = tb.endpoint(); err != nil {
		return err
	}
	if err := tb.visit("/account", "logout"); err != nil {
		return err
	}
	o.signedResponses = tb.seen()[mark:]
	if err := tb.click("logout", "email"); err != nil {
		return err
	}
	o.logoutRedirects = tb.redirectsOf("POST /logout")
	if o.backAfter, err = tb.back("/account"); err != nil {
		return err
	}
	if err := tb.visit("/account", "who"); err != nil {
		return err
	}
	if o.afterLogoutAuth, err = tb.authCalls(); err != nil {
		return err
	}
	if o.afterLogoutHTML, err = tb.html(); err != nil {
		return err
	}
	if o.endpointOut, err = tb.endpoint(); err != nil {
		return err
	}
	mark = len(tb.seen())
	if err := tb.login(bob, "/account"); err != nil {
		return err
	}
	if o.secondAuth, err = tb.authCalls(); err != nil {
		return err
	}
	if o.secondHTML, err = tb.html(); err != nil {
		return err
	}
	if o.secondWho, err = evalIn[string](tb, `document.getElementById("who").textContent`); err != nil {
		return err
	}
	o.secondRevalidated = len(tb.redirectsOf("GET "+"/account")) > 0 // a 304 (raw status)
	if o.secondEndpoint, err = tb.endpoint(); err != nil {
		return err
	}
	o.responses = tb.seen()
	o.signedResponses = append(o.signedResponses, o.responses[mark:]...)
	return httpCacheSteps(tb, o)
}

// httpCacheSteps, signed in as bob: his account page and the control page
// (beside the kit, same app headers: an ETag, private, max-age=0,
// must-revalidate), then a sign-out without kit.Logout (no Clear-Site-Data:
// no-store alone must hold), carol signs in and opens both again.
func httpCacheSteps(tb *tab, o *observations) error {
	for _, p := range []string{"/account?v=cache", "/control/account?v=cache"} {
		if err := tb.visit(p, "who"); err != nil {
			return err
		}
	}
	if status, err := tb.post("/logout-plain"); err != nil || status != 204 {
		return fmt.Errorf("POST /logout-plain: %d %v", status, err)
	}
	if err := tb.login(carol, "/account"); err != nil {
		return err
	}
	var err error
	if err = tb.visit("/account?v=cache", "who"); err != nil {
		return err
	}
	if o.cacheKitHTML, err = tb.html(); err != nil {
		return err
	}
	if err = tb.visit("/control/account?v=cache", "who"); err != nil {
		return err
	}
	if o.cacheControlHTML, err = tb.html(); err != nil {
		return err
	}
	// Back after a logout that changes no cookie (the session ended on the
	// server): the page's fate rests on no-store and Clear-Site-Data alone.
	if err := tb.visit("/account", "logout-kept"); err != nil {
		return err
	}
	if err := tb.click("logout-kept", "email"); err != nil {
		return err
	}
	o.backKept, err = tb.back("/account")
	return err
}

// flowHTMXHistory: htmx's history cache (storage no header reaches), with
// hx-boost, and its restore on Back after a boosted sign-out. The control
// page is signed by hand (no hx-history="false").
func flowHTMXHistory(tb *tab, _ *matrixApp, o *observations) error {
	steps := func(start string) (storage, restored string, err error) {
		if err := tb.waitHTMX(); err != nil {
			return "", "", err
		}
		if err := tb.do(chromedpClick("next")); err != nil {
			return "", "", err
		}
		if err := tb.waitPath(strings.Replace(start, "/page", "/other", 1), "other"); err != nil {
			return "", "", err
		}
		if err := tb.do(chromedpClick("logout")); err != nil {
			return "", "", err
		}
		if err := tb.waitPath("/hx/body/login", "signed-out"); err != nil {
			return "", "", err
		}
		if storage, err = tb.htmxStorage(); err != nil {
			return "", "", err
		}
		for _, p := range []string{strings.Replace(start, "/page", "/other", 1), start} {
			if err := tb.do(chromedpEval(`setTimeout(() => history.back(), 0)`)); err != nil { // answered before the navigation starts
				return "", "", err
			}
			id := "other"
			if p == start {
				id = "who"
			}
			if err := tb.waitPath(p, id); err != nil {
				return "", "", err
			}
		}
		time.Sleep(50 * time.Millisecond) // htmx settles the swap
		restored, err = tb.html()
		return storage, restored, err
	}
	if err := tb.login(erin, "/hx/control/page"); err != nil {
		return err
	}
	var err error
	if o.hxControlStorage, o.hxControlRestored, err = steps("/hx/control/page"); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if err := tb.login(erin, "/hx/body/page"); err != nil {
		return err
	}
	if err := tb.do(chromedpEval(`sessionStorage.clear(); localStorage.clear()`)); err != nil {
		return err
	}
	o.hxStorage, o.hxRestored, err = steps("/hx/body/page")
	return err
}

// flowBoost: with htmx's hx-boost (lib "hx") or Turbo Drive ("tb"), the
// first user signs in (a full page load), signs out and the second signs in
// through forms the library submits, in one tab; the embed is in <head> or
// in <body>. The head flow also runs the control: a script signed by hand in
// <head> stays there across the library's swap.
func flowBoost(tb *tab, a *matrixApp, o *observations, lib, place string) error {
	first, second := lib+"."+place+".first@example.com", lib+"."+place+".second@example.com"
	if place == "head" {
		if err := tb.login(first, "/"+lib+"/control/page"); err != nil {
			return err
		}
		if err := tb.waitLib(lib); err != nil {
			return err
		}
		if err := tb.do(chromedpClick("next")); err != nil {
			return err
		}
		if err := tb.waitPath("/"+lib+"/control/other", "other"); err != nil {
			return err
		}
		head, err := evalIn[string](tb, `document.head.innerHTML`)
		if err != nil {
			return err
		}
		o.mu.Lock()
		if o.controlHead == nil {
			o.controlHead = map[string]string{}
		}
		o.controlHead[lib] = head
		o.mu.Unlock()
		if status, err := tb.post("/logout"); err != nil || status != 200 {
			return fmt.Errorf("POST /logout: %d %v", status, err)
		}
	}
	seen := &boostSeen{}
	if err := tb.login(first, "/"+lib+"/"+place+"/page"); err != nil {
		return err
	}
	if err := tb.waitLib(lib); err != nil {
		return err
	}
	seen.firstAnnounced = announced(a, first, 5*time.Second)
	if err := tb.do(chromedpClick("logout")); err != nil {
		return err
	}
	if err := tb.waitPath("/"+lib+"/"+place+"/login", "signed-out"); err != nil {
		return err
	}
	var err error
	if seen.afterLogoutHTML, err = tb.html(); err != nil {
		return err
	}
	if seen.afterLogoutHead, err = evalIn[string](tb, `document.head.innerHTML`); err != nil {
		return err
	}
	if err := tb.do(chromedpSetValue("email", second), chromedpClick("login-submit")); err != nil {
		return err
	}
	if err := tb.waitPath("/"+lib+"/"+place+"/page", "who"); err != nil {
		return err
	}
	seen.secondAnnounced = announced(a, second, 3*time.Second)
	if seen.afterLoginHTML, err = tb.html(); err != nil {
		return err
	}
	if seen.afterLoginHead, err = evalIn[string](tb, `document.head.innerHTML`); err != nil {
		return err
	}
	o.mu.Lock()
	if o.boost == nil {
		o.boost = map[string]*boostSeen{}
	}
	o.boost[lib+"-"+place] = seen
	o.mu.Unlock()
	return nil
}

// announced waits for the stand-in to report authenticateUser for email
// (the widget's own report to the app: it sees calls made by scripts htmx
// ran after a swap, which window.prefineryCalls may not keep).
func announced(a *matrixApp, email string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		for _, c := range a.widget.Calls() {
			if c.Name != "authenticateUser" || len(c.Args) == 0 {
				continue
			}
			var p map[string]string
			if json.Unmarshal(c.Args[0], &p) == nil && p["email"] == email && p["signature"] == sign(email) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// --- rows: the promises --------------------------------------------------------

// promise is a row: what is promised, the flow that shows it, and the check
// (what broke, and what the control failed to show).
type promise struct {
	name  string
	flow  string
	check func(o *observations) (broken, control []string)
	seen  func(o *observations) string // the browser's observable, logged in every cell (optional)
}

// carries reports whether html holds email's signature.
func carries(html, email string) bool {
	return strings.Contains(html, sign(email))
}

func authOf(calls []authCall) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c["email"])
	}
	return out
}

var promises = []promise{
	{"signature-gone-after-logout", "logout", func(o *observations) (broken, control []string) {
		if len(o.firstAuth) != 1 || o.firstAuth[0]["email"] != alice || o.firstAuth[0]["signature"] != sign(alice) {
			control = append(control, fmt.Sprintf("signed in, the account page called authenticateUser for %v, want [%s]", authOf(o.firstAuth), alice))
		}
		if carries(o.afterLogoutHTML, alice) {
			broken = append(broken, "after logout, /account still carries alice's signature in the DOM")
		}
		if len(o.afterLogoutAuth) > 0 {
			broken = append(broken, fmt.Sprintf("after logout, /account called authenticateUser for %v", authOf(o.afterLogoutAuth)))
		}
		return
	}, nil},
	{"back-after-logout", "logout", func(o *observations) (broken, control []string) {
		if !o.backControl.persisted || !carries(o.backControl.html, alice) {
			control = append(control, fmt.Sprintf("Back without logout: %s, signature in the DOM %v; want a bfcache restore with it", o.backControl, carries(o.backControl.html, alice)))
		}
		b := o.backAfter
		if carries(b.html, alice) || len(b.auth) > 0 {
			broken = append(broken, fmt.Sprintf("Back after logout: %s; alice's signature in the DOM: %v; authenticateUser in window.prefineryCalls: %v",
				b, carries(b.html, alice), authOf(b.auth)))
		}
		return
	}, func(o *observations) string {
		return fmt.Sprintf("control, Back without logout: %s; Back after logout: %s", o.backControl, o.backAfter)
	}},
	{"back-after-logout-cookie-kept", "logout", func(o *observations) (broken, control []string) {
		if !o.backControl.persisted || !carries(o.backControl.html, alice) {
			control = append(control, fmt.Sprintf("Back without logout: %s; want a bfcache restore with the signature", o.backControl))
		}
		b := o.backKept
		if carries(b.html, carol) || len(b.auth) > 0 {
			broken = append(broken, fmt.Sprintf("Back after a logout that kept the app's cookie: %s; carol's signature in the DOM: %v; authenticateUser in window.prefineryCalls: %v",
				b, carries(b.html, carol), authOf(b.auth)))
		}
		return
	}, func(o *observations) string {
		return fmt.Sprintf("control, Back without logout: %s; Back after a logout that kept the cookie: %s", o.backControl, o.backKept)
	}},
	{"http-cache", "logout", func(o *observations) (broken, control []string) {
		if !carries(o.cacheControlHTML, bob) {
			control = append(control, "the control page (beside the kit, ETag + private, max-age=0) was not replayed from the HTTP cache to carol")
		}
		if carries(o.cacheKitHTML, bob) || !strings.Contains(o.cacheKitHTML, carol) {
			broken = append(broken, "carol's /account?v=cache showed bob's page from the HTTP cache")
		}
		return
	}, nil},
	{"htmx-history", "htmx-history", func(o *observations) (broken, control []string) {
		if !carries(o.hxControlStorage, erin) || !carries(o.hxControlRestored, erin) {
			control = append(control, fmt.Sprintf("the hand-signed page: signature in htmx's history storage %v, in the page Back restored %v; want both",
				carries(o.hxControlStorage, erin), carries(o.hxControlRestored, erin)))
		}
		if carries(o.hxStorage, erin) || strings.Contains(o.hxStorage, "authenticateUser") {
			broken = append(broken, "after a boosted logout, htmx's history storage holds erin's signed script")
		}
		if carries(o.hxRestored, erin) {
			broken = append(broken, "Back after a boosted logout restored erin's signature into the page")
		}
		return
	}, nil},
	{"htmx-boost-head", "htmx-boost-head", func(o *observations) ([]string, []string) { return boostCheck(o, "hx", "head") }, nil},
	{"htmx-boost-body", "htmx-boost-body", func(o *observations) ([]string, []string) { return boostCheck(o, "hx", "body") }, nil},
	{"turbo-head", "turbo-head", func(o *observations) ([]string, []string) { return boostCheck(o, "tb", "head") }, nil},
	{"turbo-body", "turbo-body", func(o *observations) ([]string, []string) { return boostCheck(o, "tb", "body") }, nil},
	{"endpoint-401-after-logout", "logout", func(o *observations) (broken, control []string) {
		if o.endpointIn.Status != 200 || !strings.Contains(o.endpointIn.Body, sign(alice)) {
			control = append(control, fmt.Sprintf("signed in, the endpoint answered %d %.80q; want 200 with alice's signature", o.endpointIn.Status, o.endpointIn.Body))
		}
		if o.endpointOut.Status != 401 || carries(o.endpointOut.Body, alice) {
			broken = append(broken, fmt.Sprintf("after logout, the endpoint answered %d %.80q; want 401", o.endpointOut.Status, o.endpointOut.Body))
		}
		return
	}, nil},
	{"second-user-signed-as-themself", "logout", func(o *observations) (broken, control []string) {
		if got := authOf(o.secondAuth); len(got) != 1 || got[0] != bob || o.secondAuth[0]["signature"] != sign(bob) {
			broken = append(broken, fmt.Sprintf("bob's page called authenticateUser for %v, want [%s] with his signature", got, bob))
		}
		if carries(o.secondHTML, alice) {
			broken = append(broken, "bob's page carries alice's signature")
		}
		if o.secondEndpoint.Status != 200 || !strings.Contains(o.secondEndpoint.Body, sign(bob)) || carries(o.secondEndpoint.Body, alice) {
			broken = append(broken, fmt.Sprintf("bob's endpoint answered %d %.80q", o.secondEndpoint.Status, o.secondEndpoint.Body))
		}
		return
	}, func(o *observations) string {
		return fmt.Sprintf("bob's /account after his login: #who %q, revalidated with a 304: %v, authenticateUser for %v", o.secondWho, o.secondRevalidated, authOf(o.secondAuth))
	}},
	{"no-store-on-signed-pages", "logout", func(o *observations) (broken, control []string) {
		signed := 0
		for _, r := range o.signedResponses {
			path := pathOf(r.url)
			if (path == "/account" || path == "/prefinery/identity") && r.status == 200 {
				signed++
				if !hasDirective(r.headers["cache-control"], "no-store") || r.headers["etag"] != "" || r.headers["last-modified"] != "" {
					broken = append(broken, fmt.Sprintf("%s (signed in) arrived with Cache-Control %q, ETag %q", path, r.headers["cache-control"], r.headers["etag"]))
				}
			}
		}
		if signed == 0 {
			control = append(control, "no signed response was seen")
		}
		return
	}, nil},
	{"nonce-never-shared-cacheable", "logout", func(o *observations) (broken, control []string) {
		nonced, controlSeen := 0, false
		for _, r := range o.responses {
			if !strings.Contains(r.headers["content-security-policy"], "'nonce-") {
				continue
			}
			shared := !hasDirective(r.headers["cache-control"], "no-store") && !hasDirective(r.headers["cache-control"], "private")
			if pathOf(r.url) == "/control/welcome" {
				controlSeen = shared
				continue
			}
			nonced++
			if shared {
				broken = append(broken, fmt.Sprintf("%s carries a nonce with Cache-Control %q", pathOf(r.url), r.headers["cache-control"]))
			}
		}
		if nonced == 0 {
			control = append(control, "no nonced page was seen")
		}
		if !controlSeen {
			control = append(control, "the control page (the app's own nonce, public) was not seen as shared-cacheable")
		}
		return
	}, nil},
	{"clear-site-data-on-logout", "logout", func(o *observations) (broken, control []string) {
		if len(o.logoutRedirects) == 0 {
			broken = append(broken, "the browser saw no redirect answering POST /logout")
		}
		for _, h := range o.logoutRedirects {
			if !strings.Contains(h["clear-site-data"], `"cache"`) {
				broken = append(broken, fmt.Sprintf("the logout response arrived with Clear-Site-Data %q", h["clear-site-data"]))
			}
		}
		return
	}, nil},
}

// boostCheck: after the sign-out through the library no page part holds
// the first user's signature, and after the sign-in the widget was told the
// second user.
func boostCheck(o *observations, lib, place string) (broken, control []string) {
	first, second := lib+"."+place+".first@example.com", lib+"."+place+".second@example.com"
	if !strings.Contains(o.controlHead[lib], sign(lib+".head.first@example.com")) {
		control = append(control, "the hand-signed script in <head> was gone after a swap: the test cannot see what the library keeps there")
	}
	s := o.boost[lib+"-"+place]
	if s == nil {
		return nil, append(control, "no observation")
	}
	if !s.firstAnnounced {
		control = append(control, "the first user's full page load never told the widget authenticateUser")
	}
	if carries(s.afterLogoutHTML, first) {
		where := "<body>"
		if carries(s.afterLogoutHead, first) {
			where = "document.head"
		}
		broken = append(broken, fmt.Sprintf("after the logout, the first user's signature is still in %s", where))
	}
	if !s.secondAnnounced {
		broken = append(broken, "after the second user's login the widget was never told authenticateUser("+second+")")
	}
	if carries(s.afterLoginHTML, first) {
		broken = append(broken, "the second user's page still carries the first user's signature")
	}
	return broken, control
}

func pathOf(url string) string {
	rest := url[strings.Index(url, "//")+2:]
	if i := strings.Index(rest, "/"); i >= 0 {
		rest = rest[i:]
	} else {
		rest = "/"
	}
	path, _, _ := strings.Cut(rest, "?")
	return path
}

func hasDirective(cc, name string) bool {
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == name {
			return true
		}
	}
	return false
}
