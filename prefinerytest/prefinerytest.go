// Package prefinerytest helps an app test its Prefinery integration: a Kit
// with a test secret and the offline stand-in in one call, and helpers that
// read the Prefinery calls off a rendered page with each signature checked,
// so a test says "this page signs ada@example.com" in one line. The example
// of [SignedInAs] shows such a test, with its Kit from [New], as code the
// compiler checks; code without a testing.TB (TestMain, a fixture built
// once) takes its Kit from [NewKit], as its example shows. An app that builds
// its Kit itself needs neither in its tests: in a test binary, prefinery.New
// uses this package's secret and the stand-in when the environment names
// none. Tests that render no signed-in page ask [SignedInAfter] whom the
// app's auth middleware signs in.
//
// Besides the standard library and the kit it needs only golang.org/x/net's
// HTML parser (to read a page as a browser does), which the kit's module
// already requires.
package prefinerytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/standin"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// SecretText is the test secret: public, never a project's.
const SecretText = "prefinerytest-secret-never-a-real-one"

// Secret returns SecretText as a prefinery.Secret.
func Secret() prefinery.Secret {
	s, err := prefinery.NewSecret(SecretText)
	if err != nil {
		panic(err) // a constant that passes NewSecret's checks
	}
	return s
}

// New returns a Kit for tests: cfg with the test secret and, when cfg names
// no loader and is not EndpointOnly, the offline stand-in's (mount
// standin.New() at standin.Path for browser tests). It needs no environment
// variable: neither PREFINERY_IDENTITY_SECRET nor PREFINERY_PROJECT_KEY is
// read. It fails the test when New refuses cfg. Code without a testing.TB
// (TestMain, a fixture built once) uses [NewKit].
func New(t testing.TB, cfg prefinery.Config) *prefinery.Kit {
	t.Helper()
	kit, err := NewKit(cfg)
	if err != nil {
		t.Fatalf("prefinerytest.New: %v", err)
	}
	return kit
}

// NewKit is [New] for code that has no testing.TB: a TestMain, a test-app
// constructor shared by many tests, a fixture built once. It returns the
// error prefinery.New returns for cfg (wrapping prefinery.ErrInvalidConfig),
// which the caller must check: a nil Kit signs nobody.
func NewKit(cfg prefinery.Config) (*prefinery.Kit, error) {
	cfg.Secret = Secret()
	if cfg.ProjectKey == "" && cfg.WidgetURL == "" && !cfg.EndpointOnly {
		cfg.WidgetURL = standin.WidgetURL
	}
	return prefinery.New(cfg)
}

// Call is one Prefinery Web API call a page makes.
type Call struct {
	Name   string         // authenticateUser, addUser, getUser, …
	Params map[string]any // the call's parameters as the page passes them

	// Identifier and Signature are the signed identity in Params ("" when
	// the call carries none), whichever kind (email, referral_code, id).
	Identifier, Signature string
}

// callStart finds prefinery('name', or prefinery("name", in a page.
var callStart = regexp.MustCompile(`prefinery\((?:'(\w+)'|"(\w+)"),\s*`)

// Calls returns the Prefinery calls on a rendered page, in order: those in
// the scripts a browser runs, read as an HTML parser reads the page (a call
// inside a <template>, a comment, an attribute or a script of another type
// does not count). It fails the test when a signed call's signature is not
// its identifier's under the test secret, when a call's parameters are not a
// JSON object, or when the page sets a Content-Security-Policy in a <meta>
// tag, which the kit cannot add its nonce to (the browser would block its
// scripts).
func Calls(t testing.TB, page string) []Call {
	t.Helper()
	scripts, metaCSP := runningScripts(page)
	if metaCSP {
		t.Fatalf("prefinerytest: the page sets its Content-Security-Policy in a <meta> tag, which the kit cannot add its nonce to: a browser blocks the kit's scripts (send the policy as a header)")
	}
	var calls []Call
	for _, script := range scripts {
		for _, m := range callStart.FindAllStringSubmatchIndex(script, -1) {
			calls = append(calls, readCall(t, script, m))
		}
	}
	return calls
}

// readCall reads the call whose callStart match is m in script.
func readCall(t testing.TB, script string, m []int) Call {
	t.Helper()
	var name string
	if m[2] >= 0 {
		name = script[m[2]:m[3]]
	} else {
		name = script[m[4]:m[5]]
	}
	var params map[string]any
	if err := json.NewDecoder(strings.NewReader(script[m[1]:])).Decode(&params); err != nil {
		t.Fatalf("prefinerytest: the %s call's parameters are not a JSON object: %v", name, err)
	}
	c := Call{Name: name, Params: params}
	c.Signature, _ = params["signature"].(string)
	for _, kind := range []prefinery.Kind{prefinery.KindEmail, prefinery.KindReferralCode, prefinery.KindID} {
		if v, ok := params[string(kind)].(string); ok && c.Signature != "" {
			c.Identifier = v
		}
	}
	if c.Signature != "" && !hmac.Equal([]byte(c.Signature), []byte(sign(c.Identifier))) {
		t.Fatalf("prefinerytest: the %s call signs %q with a signature that is not its signature under the test secret%s", name, c.Identifier, otherSecretHint)
	}
	return c
}

// runningScripts parses page as a browser does and returns the text of the
// inline scripts it runs (classic or module JavaScript, outside <template>
// contents), and whether a <meta http-equiv="Content-Security-Policy"> sets a
// policy. A fragment (no <html>) is parsed as a page's body would be.
func runningScripts(page string) (scripts []string, metaCSP bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil { // html.Parse fails only on a reader's error
		return nil, false
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Namespace == "" {
			switch n.DataAtom {
			case atom.Template:
				return // its contents are inert
			case atom.Meta:
				if strings.EqualFold(strings.TrimSpace(attr(n, "http-equiv")), "content-security-policy") {
					metaCSP = true
				}
			case atom.Script:
				if runsAsJavaScript(attr(n, "type")) && n.FirstChild != nil && n.FirstChild.Type == html.TextNode {
					scripts = append(scripts, n.FirstChild.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return scripts, metaCSP
}

// attr returns n's attribute name ("" when absent).
func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val
		}
	}
	return ""
}

// runsAsJavaScript reports whether a script of this type attribute runs:
// none, empty, module, or a JavaScript MIME type.
func runsAsJavaScript(typ string) bool {
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "", "module", "text/javascript", "application/javascript", "text/ecmascript", "application/ecmascript":
		return true
	}
	return false
}

// SignedInAs returns the identifier the page's authenticateUser call signs, or
// "" when the page signs nobody; it fails the test on a signature that does
// not verify, and on a page that authenticates twice.
func SignedInAs(t testing.TB, page string) string {
	t.Helper()
	var who []string
	for _, c := range Calls(t, page) {
		if c.Name == "authenticateUser" {
			who = append(who, c.Identifier)
		}
	}
	switch len(who) {
	case 0:
		return ""
	case 1:
		return who[0]
	}
	t.Fatalf("prefinerytest: the page authenticates %d times (%q)", len(who), who)
	return ""
}

// SignedIn is the old name of [SignedInAs], which says that it returns who
// (it read as a yes or no).
//
// Deprecated: use SignedInAs; SignedIn goes before v1.
func SignedIn(t testing.TB, page string) string {
	t.Helper()
	return SignedInAs(t, page)
}

// SignedInAfter serves r through kit.Middleware to run, as the app's
// handlers are served behind it, and returns the identifier the kit signs
// for the request once run has returned ("" when nobody is signed in). A
// test checks an app whose auth middleware names the user with kit.Login, or
// whose Config.User finds them, without rendering a page: run is the app's
// auth middleware with the request it is given, such as
// authenticate(http.NotFoundHandler()).ServeHTTP, or an Echo or gin
// middleware run on a test context after setting its request to it. A Kit
// with Config.Sessions also needs sessions.LoadAndSave around it: read such an
// app's pages with [SignedInAs]. A nil run only reads the identity. It fails
// the test on a nil Kit.
func SignedInAfter(t testing.TB, kit *prefinery.Kit, r *http.Request, run func(http.ResponseWriter, *http.Request)) string {
	t.Helper()
	if kit == nil {
		t.Fatalf("prefinerytest: SignedInAfter got a nil Kit: pass the one the app's routes use")
	}
	var who string
	kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if run != nil {
			run(w, r)
		}
		if id, ok := kit.Identity(r.Context()); ok {
			who = id.Identifier
		}
	})).ServeHTTP(httptest.NewRecorder(), r)
	return who
}

// EndpointIdentity reads an answer of the identity endpoint
// (kit.IdentityHandler): it returns the identifier a 200's body signs, after
// checking the body is exactly the Web API's object ({"<kind>": …,
// "signature": …}) with a signature that verifies under the test secret, or
// "" for a 401 (nobody signed in). Any other status, or a body that does not
// verify, fails the test. An API-only app's test is a request and this line.
func EndpointIdentity(t testing.TB, status int, body []byte) string {
	t.Helper()
	switch status {
	case 401:
		return ""
	case 200:
	default:
		t.Fatalf("prefinerytest: the identity endpoint answered %d: %s", status, body)
	}
	var fields map[string]string
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatalf("prefinerytest: the identity endpoint's body is not the Web API's object: %v", err)
	}
	signature, identifier, kinds := fields["signature"], "", 0
	for _, kind := range []prefinery.Kind{prefinery.KindEmail, prefinery.KindReferralCode, prefinery.KindID} {
		if v, ok := fields[string(kind)]; ok {
			identifier, kinds = v, kinds+1
		}
	}
	if len(fields) != 2 || kinds != 1 || signature == "" {
		t.Fatalf("prefinerytest: the identity endpoint's body has fields %d, want one identifier and its signature", len(fields))
	}
	if !hmac.Equal([]byte(signature), []byte(sign(identifier))) {
		t.Fatalf("prefinerytest: the identity endpoint signs %q with a signature that is not its signature under the test secret%s", identifier, otherSecretHint)
	}
	return identifier
}

// otherSecretHint ends a failure over a signature made with another secret:
// the likeliest cause, a Kit built by prefinery.New in a test run whose
// environment holds a project's secret (New reads it when it is set).
const otherSecretHint = " (a Kit from prefinery.New signs with PREFINERY_IDENTITY_SECRET when the test's environment sets it)"

// sign is the signature of identifier under the test secret, computed here
// with crypto/hmac, independently of the kit.
func sign(identifier string) string {
	mac := hmac.New(sha256.New, []byte(SecretText))
	mac.Write([]byte(identifier))
	return hex.EncodeToString(mac.Sum(nil))
}
