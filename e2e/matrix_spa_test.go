package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"
)

// TestPromiseMatrixSPA is the promise matrix's SPA columns: an SPA on
// another origin reads its own user's identity from a JSON API with a bearer
// token (Config.SPAOrigins), in headless Chromium. The pages are served from
// two loopback servers: the trusted SPA (http://127.0.0.1:Q, same-site with
// the API on 127.0.0.1:P, and http://localhost:Q, cross-site) and a hostile
// page (http://localhost:S and http://127.0.0.1:S, in no SPAOrigins). The
// columns are three ways the app is wired (its CORS covering only its own
// routes, so the kit answers the endpoint's preflight; its CORS wrapping
// every route and answering every preflight itself, reflecting any origin
// with credentials; or the first with the endpoint mounted by the README's
// line for the router, GET only but with net/http) × the four routers. Rows, each with its control where the browser decides:
// the trusted SPA reads its user same-site and cross-site, a page without
// the token reads nothing, an untrusted origin is refused with the reason
// logged once, and a cookie-authenticated read from another site stays
// refused.
//
// It shares the matrix's browser harness, cells and knownGap:
// TestPromiseMatrixSPA/<promise>/<mode>/<router>, the table logged at the
// end. PREFINERY_MATRIX_ONLY=spa-bearer/gin runs one column.
func TestPromiseMatrixSPA(t *testing.T) {
	start := time.Now()
	h := newHarnessWith(t, thirdPartyCookiesAllowed(t))
	gin.SetMode(gin.ReleaseMode)

	trusted, hostile := newSPAPages(), newSPAPages()
	t.Cleanup(trusted.Close)
	t.Cleanup(hostile.Close)
	o := spaOrigins{
		sameSite:    trusted.URL,                                               // http://127.0.0.1:Q
		crossSite:   strings.Replace(trusted.URL, "127.0.0.1", "localhost", 1), // http://localhost:Q
		hostile:     strings.Replace(hostile.URL, "127.0.0.1", "localhost", 1), // cross-site, untrusted
		hostileSame: hostile.URL,                                               // same-site, untrusted
	}

	var columns []column
	bearers, cookies := map[column]*spaApp{}, map[column]*spaApp{}
	for _, m := range spaModes {
		for _, r := range matrixRouters {
			col := column{m, r}
			columns = append(columns, col)
			b, err := newSPAApp(col, authBearer, []string{o.sameSite, o.crossSite})
			if err != nil {
				t.Fatalf("%s: %v", col, err)
			}
			c, err := newSPAApp(col, authCookie, []string{o.crossSite})
			if err != nil {
				t.Fatalf("%s: %v", col, err)
			}
			t.Cleanup(b.srv.Close)
			t.Cleanup(c.srv.Close)
			bearers[col], cookies[col] = b, c
		}
	}

	observed := map[column]*observations{}
	type job struct {
		col  column
		flow spaFlow
	}
	var jobs []job
	only := os.Getenv("PREFINERY_MATRIX_ONLY")
	for _, col := range columns {
		observed[col] = &observations{errs: map[string]error{}}
		if only != "" && col.String() != only {
			continue
		}
		for _, f := range spaFlows {
			jobs = append(jobs, job{col, f})
		}
	}
	tabs := matrixTabs(3)
	runFlows(h.alloc, tabs, jobs, func(tb *tab, j job) error {
		return runSPAFlow(tb, j.flow, spaEnv{origins: o, api: bearers[j.col], cookieAPI: cookies[j.col]}, observed[j.col])
	}, func(j job, err error) {
		obs := observed[j.col]
		obs.mu.Lock()
		obs.errs[j.flow.name] = err
		obs.mu.Unlock()
	})
	flowsTook := time.Since(start)

	// What the servers saw, for the rows to judge.
	for _, col := range columns {
		s := &observed[col].spa
		s.origins = o
		s.kitSign = bearers[col].kit.Sign
		s.apiSeen, s.apiLog = bearers[col].seen(), bearers[col].logs.String()
		s.cookieSeen, s.cookieLog = cookies[col].seen(), cookies[col].logs.String()
	}

	results := judgeMatrix(t, spaPromises, spaModes, observed, func(column) string { return "" })
	t.Log(summary(results, spaPromises, spaModes, flowsTook, time.Since(start), len(jobs), tabs))
}

// thirdPartyCookiesAllowed starts the browser with a profile whose user
// allows third-party cookies (Chromium's setting "Allow third-party
// cookies"; headless Chromium blocks them by default, reason
// UserPreferences): the worst case for the kit, where a hostile page's
// cross-site request carries the user's cookies, so the cookie row's
// refusal is the kit's, not the browser's.
func thirdPartyCookiesAllowed(t *testing.T) chromedp.ExecAllocatorOption {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := `{"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": false}}`
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	return chromedp.UserDataDir(dir)
}

// spaOrigins are the pages' origins.
type spaOrigins struct {
	sameSite, crossSite  string // the trusted SPA
	hostile, hostileSame string // a page in no SPAOrigins, cross-site and same-site
}

// spaEnv is what a flow runs against: the column's bearer API and its
// cookie-authenticated control app.
type spaEnv struct {
	origins        spaOrigins
	api, cookieAPI *spaApp
}

// spaRead is what readJSON could read in the page.
type spaRead struct {
	Status       int    `json:"status"`
	Body         string `json:"body"`
	CacheControl string `json:"cacheControl"`
	Error        string `json:"error"`
}

func (r spaRead) String() string {
	if r.Status == 0 {
		return "fetch rejected: " + r.Error
	}
	return fmt.Sprintf("%d %.100s (Cache-Control %q)", r.Status, strings.TrimSpace(r.Body), r.CacheControl)
}

// blocked reports whether the page read nothing: fetch rejected, no body.
func (r spaRead) blocked() bool {
	return r.Status == 0 && r.Body == "" && strings.Contains(r.Error, "TypeError")
}

// spaSeen is what a column's SPA flows saw, in the browser and on the
// servers.
type spaSeen struct {
	origins spaOrigins
	kitSign func(string) string

	sameSite, crossSite, noToken spaRead // the trusted SPA
	hostileRead, hostileSameRead spaRead // the endpoint, from the hostile page with alice's token
	hostileUser, hostileSameUser spaRead // control: the app's own /api/user, the same way
	cookieRead, cookieUser       spaRead // the cookie app, from the hostile page with credentials
	apiSeen, cookieSeen          []spaRequest
	apiLog, cookieLog            string
}

type spaFlow struct {
	name string
	run  func(tb *tab, env spaEnv, s *spaSeen) error
}

var spaFlows = []spaFlow{
	{"spa-trusted", flowSPATrusted},
	{"spa-untrusted", flowSPAUntrusted},
	{"spa-cookie", flowSPACookie},
}

func runSPAFlow(tb *tab, f spaFlow, env spaEnv, o *observations) error {
	tb.base = env.origins.sameSite
	var s spaSeen
	if err := f.run(tb, env, &s); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch f.name {
	case "spa-trusted":
		o.spa.sameSite, o.spa.crossSite, o.spa.noToken = s.sameSite, s.crossSite, s.noToken
	case "spa-untrusted":
		o.spa.hostileRead, o.spa.hostileSameRead, o.spa.hostileUser, o.spa.hostileSameUser = s.hostileRead, s.hostileSameRead, s.hostileUser, s.hostileSameUser
	case "spa-cookie":
		o.spa.cookieRead, o.spa.cookieUser = s.cookieRead, s.cookieUser
	}
	return nil
}

// openSPA loads the SPA page at origin.
func (tb *tab) openSPA(origin string) error {
	if err := tb.do(chromedp.Navigate(origin+"/spa"), chromedp.WaitVisible(chromedp.ID("spa"))); err != nil {
		return fmt.Errorf("open the SPA at %s: %w", origin, err)
	}
	return nil
}

// readJSON runs the page's readJSON.
func (tb *tab) readJSON(url, token, credentials string) (spaRead, error) {
	var r spaRead
	raw, err := awaitIn[string](tb, fmt.Sprintf(`readJSON(%q, %q, %q)`, url, token, credentials))
	if err == nil {
		err = json.Unmarshal([]byte(raw), &r)
	}
	if err != nil {
		return r, fmt.Errorf("readJSON %s: %w", url, err)
	}
	return r, nil
}

// flowSPATrusted: the trusted SPA, same-site with alice's token and without
// one, then cross-site with bob's.
func flowSPATrusted(tb *tab, env spaEnv, s *spaSeen) error {
	endpoint := env.api.srv.URL + "/prefinery/identity"
	var err error
	if err = tb.openSPA(env.origins.sameSite); err != nil {
		return err
	}
	if s.sameSite, err = tb.readJSON(endpoint, "alice-token", ""); err != nil {
		return err
	}
	if s.noToken, err = tb.readJSON(endpoint, "", ""); err != nil {
		return err
	}
	if err = tb.openSPA(env.origins.crossSite); err != nil {
		return err
	}
	s.crossSite, err = tb.readJSON(endpoint, "bob-token", "")
	return err
}

// flowSPAUntrusted: the hostile page with alice's token (as if it had
// stolen one: the refusal must not rest on the token), cross-site first,
// then same-site; each time also the app's own route (the control).
func flowSPAUntrusted(tb *tab, env spaEnv, s *spaSeen) error {
	endpoint, user := env.api.srv.URL+"/prefinery/identity", env.api.srv.URL+"/api/user"
	for _, step := range []struct {
		origin     string
		read, ctrl *spaRead
	}{
		{env.origins.hostile, &s.hostileRead, &s.hostileUser},
		{env.origins.hostileSame, &s.hostileSameRead, &s.hostileSameUser},
	} {
		var err error
		if err = tb.openSPA(step.origin); err != nil {
			return err
		}
		if *step.read, err = tb.readJSON(endpoint, "alice-token", ""); err != nil {
			return err
		}
		if *step.ctrl, err = tb.readJSON(user, "alice-token", ""); err != nil {
			return err
		}
	}
	return nil
}

// flowSPACookie: carol signs in to the cookie-authenticated app (a
// first-party visit), then the hostile page, cross-site, reads the endpoint
// with her cookies, and (the control) the app's own route.
func flowSPACookie(tb *tab, env spaEnv, s *spaSeen) error {
	if err := tb.do(chromedp.Navigate(env.cookieAPI.srv.URL+"/login?as="+url.QueryEscape(carol)), chromedp.WaitVisible(chromedp.ID("signed-in"))); err != nil {
		return fmt.Errorf("sign in to the cookie app: %w", err)
	}
	if err := tb.openSPA(env.origins.hostile); err != nil {
		return err
	}
	var err error
	if s.cookieRead, err = tb.readJSON(env.cookieAPI.srv.URL+"/prefinery/identity", "", "include"); err != nil {
		return err
	}
	s.cookieUser, err = tb.readJSON(env.cookieAPI.srv.URL+"/api/user", "", "include")
	return err
}

// --- rows ----------------------------------------------------------------------

// identityOf decodes the endpoint's answer.
func identityOf(body string) map[string]string {
	var id map[string]string
	_ = json.Unmarshal([]byte(body), &id)
	return id
}

// readsOwnIdentity: a 200 with email's identity, its signature the test's
// HMAC and kit.Sign's, no-store.
func readsOwnIdentity(s *spaSeen, r spaRead, email string) []string {
	id := identityOf(r.Body)
	switch {
	case r.Status != 200:
		return []string{fmt.Sprintf("the SPA read %s; want 200 with %s's identity", r, email)}
	case id["email"] != email || id["signature"] != sign(email) || id["signature"] != s.kitSign(email):
		return []string{fmt.Sprintf("the SPA read %s; want %s with the signature HMAC-SHA256 and kit.Sign give", r, email)}
	case !hasDirective(r.CacheControl, "no-store"):
		return []string{fmt.Sprintf("the identity arrived with Cache-Control %q", r.CacheControl)}
	}
	return nil
}

// identityRequests are the endpoint requests from origin the API received.
func identityRequests(seen []spaRequest, origin string) []spaRequest {
	var out []spaRequest
	for _, r := range seen {
		if r.path == "/prefinery/identity" && r.origin == origin {
			out = append(out, r)
		}
	}
	return out
}

func (r spaRequest) String() string {
	return fmt.Sprintf("%s Sec-Fetch-Site %q Authorization %v cookie %v → %d", r.method, r.site, r.auth, r.cookie, r.status)
}

func requestsString(rs []spaRequest) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	return "[" + strings.Join(s, "; ") + "]"
}

// sentAs is a control: the browser sent the SPA's requests (its preflight,
// its GET) with the Sec-Fetch-Site the row is about (otherwise the cell
// tests something else).
func sentAs(seen []spaRequest, origin, site string) []string {
	sent := identityRequests(seen, origin)
	for _, r := range sent {
		if r.site != site {
			return []string{fmt.Sprintf("the API received from %s: %s; want Sec-Fetch-Site %s", origin, requestsString(sent), site)}
		}
	}
	if len(sent) == 0 {
		return []string{fmt.Sprintf("the API received no request from %s", origin)}
	}
	return nil
}

var spaPromises = []promise{
	{"spa-trusted-same-site", "spa-trusted", func(o *observations) (broken, control []string) {
		s := &o.spa
		return readsOwnIdentity(s, s.sameSite, alice), sentAs(s.apiSeen, s.origins.sameSite, "same-site")
	}, func(o *observations) string {
		return fmt.Sprintf("%s read %s; the API received %s", o.spa.origins.sameSite, o.spa.sameSite, requestsString(identityRequests(o.spa.apiSeen, o.spa.origins.sameSite)))
	}},
	{"spa-trusted-cross-site", "spa-trusted", func(o *observations) (broken, control []string) {
		s := &o.spa
		return readsOwnIdentity(s, s.crossSite, bob), sentAs(s.apiSeen, s.origins.crossSite, "cross-site")
	}, func(o *observations) string {
		return fmt.Sprintf("%s read %s; the API received %s", o.spa.origins.crossSite, o.spa.crossSite, requestsString(identityRequests(o.spa.apiSeen, o.spa.origins.crossSite)))
	}},
	{"spa-no-token-reads-nothing", "spa-trusted", func(o *observations) (broken, control []string) {
		s := &o.spa
		if s.noToken.Status != 401 || strings.Contains(s.noToken.Body, "signature") {
			broken = append(broken, fmt.Sprintf("the trusted SPA without a token read %s; want a readable 401 without a signature", s.noToken))
		}
		return
	}, func(o *observations) string { return "without a token the SPA read " + o.spa.noToken.String() }},
	{"spa-untrusted-refused-logged", "spa-untrusted", func(o *observations) (broken, control []string) {
		s := &o.spa
		for _, c := range []struct {
			origin     string
			read, ctrl spaRead
		}{{s.origins.hostile, s.hostileRead, s.hostileUser}, {s.origins.hostileSame, s.hostileSameRead, s.hostileSameUser}} {
			if c.ctrl.Status != 200 || !strings.Contains(c.ctrl.Body, alice) {
				control = append(control, fmt.Sprintf("%s read the app's own /api/user (its CORS reflects every origin): %s; want 200 with alice", c.origin, c.ctrl))
			}
			if !c.read.blocked() || strings.Contains(c.read.Body, "signature") {
				broken = append(broken, fmt.Sprintf("%s, in no SPAOrigins, read the endpoint: %s; want the fetch rejected", c.origin, c.read))
			}
			refused := false
			for _, r := range identityRequests(s.apiSeen, c.origin) {
				refused = refused || r.status == 403
			}
			if !refused {
				broken = append(broken, fmt.Sprintf("the API did not answer %s with 403: %s", c.origin, requestsString(identityRequests(s.apiSeen, c.origin))))
			}
		}
		if n := strings.Count(s.apiLog, "level=WARN"); n != 1 || !strings.Contains(s.apiLog, "origin="+s.origins.hostile) || !strings.Contains(s.apiLog, "Config.SPAOrigins") {
			broken = append(broken, fmt.Sprintf("the API's log holds %d WARN lines; want one naming origin=%s and Config.SPAOrigins:\n%s", n, s.origins.hostile, s.apiLog))
		}
		return
	}, func(o *observations) string {
		s := &o.spa
		return fmt.Sprintf("%s read %s (control, /api/user: %s); %s read %s (control: %s); the API received %s and %s; logged: %s",
			s.origins.hostile, s.hostileRead, s.hostileUser, s.origins.hostileSame, s.hostileSameRead, s.hostileSameUser,
			requestsString(identityRequests(s.apiSeen, s.origins.hostile)), requestsString(identityRequests(s.apiSeen, s.origins.hostileSame)), strings.TrimSpace(s.apiLog))
	}},
	{"spa-cookie-cross-site-refused", "spa-cookie", func(o *observations) (broken, control []string) {
		s := &o.spa
		if s.cookieUser.Status != 200 || !strings.Contains(s.cookieUser.Body, carol) {
			control = append(control, fmt.Sprintf("the hostile page read the cookie app's /api/user with carol's cookie: %s; want 200 with carol (the cookie travels cross-site)", s.cookieUser))
		}
		carried := false
		for _, r := range identityRequests(s.cookieSeen, s.origins.hostile) {
			carried = carried || r.method == "GET" && r.cookie && r.site == "cross-site"
		}
		if !carried {
			control = append(control, "the endpoint never received a cross-site GET with carol's cookie: "+requestsString(identityRequests(s.cookieSeen, s.origins.hostile)))
		}
		if !s.cookieRead.blocked() || strings.Contains(s.cookieRead.Body, "signature") {
			broken = append(broken, fmt.Sprintf("the hostile page read the cookie app's endpoint with carol's cookie: %s; want the fetch rejected", s.cookieRead))
		}
		for _, r := range identityRequests(s.cookieSeen, s.origins.hostile) {
			if r.method == "GET" && r.status != 403 {
				broken = append(broken, "the endpoint answered "+r.String())
			}
		}
		if strings.Count(s.cookieLog, "level=WARN") != 1 || !strings.Contains(s.cookieLog, "origin="+s.origins.hostile) {
			broken = append(broken, "the refusal was not logged once at WARN with the origin: "+s.cookieLog)
		}
		return
	}, func(o *observations) string {
		s := &o.spa
		return fmt.Sprintf("%s read the endpoint with carol's cookie: %s (control, /api/user: %s); the API received %s",
			s.origins.hostile, s.cookieRead, s.cookieUser, requestsString(identityRequests(s.cookieSeen, s.origins.hostile)))
	}},
}
