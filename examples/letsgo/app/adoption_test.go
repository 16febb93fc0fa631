package app

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery/examples/letsgo/models"
	"github.com/prefinerykit/prefinery/internal/frameworktest"
	"github.com/prefinerykit/prefinery/prefinerytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adoptionBudget is what adopting the kit may cost this app, in changed Go
// lines (login and logout included), with no template and no CSP edited.
const adoptionBudget = 12

// TestAdoption states how the app adopted the kit: at most adoptionBudget
// changed Go lines; the templates are the same files (package ui serves both);
// the CSP middleware is untouched.
func TestAdoption(t *testing.T) {
	frameworktest.AdoptionWithin(t, "../before", ".", adoptionBudget)
	before, _ := os.ReadFile("../before/middleware.go")
	after, _ := os.ReadFile("middleware.go")
	assert.Equal(t, strings.Replace(string(before), "package before", "package app", 1), string(after), "middleware.go, with its secureHeaders CSP, is unchanged")
}

var (
	csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	authCall  = regexp.MustCompile(`<script nonce="([^"]+)" hx-history="false" data-turbo-temporary>prefinery\('authenticateUser', \{"email":"([^"]+)","signature":"([0-9a-f]{64})"\}\);</script>`)
)

// TestAdoptedApp drives the adopted app over HTTP: Bob signs in as he types
// his address (bob@example.com), the page signs the address his record holds
// (Bob@Example.com), under the app's CSP with the kit's nonce; after logout
// nothing is signed.
func TestAdoptedApp(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", prefinerytest.SecretText)
	t.Setenv("PREFINERY_PROJECT_KEY", "ab12cd34")
	handler, err := New(Config{Users: models.NewUserModel(models.User{Name: "Bob", Email: "Bob@Example.com", EmailConfirmed: true}),
		Logger: slogDiscard()})
	require.NoError(t, err)
	get, post := browser(t, handler)

	_, page := get("/user/login")
	assert.Empty(t, prefinerytest.SignedInAs(t, page), "nobody signed in")
	res, page := post("/user/login", page, url.Values{"email": {"bob@example.com"}, "password": {"pa55word"}})
	require.Equal(t, http.StatusOK, res.StatusCode, page)
	assert.Equal(t, "Bob@Example.com", prefinerytest.SignedInAs(t, page), "the address as the user record holds it, not as typed")
	m := authCall.FindStringSubmatch(page)
	require.NotNil(t, m, "AutoInsert put authenticateUser into the account page:\n%s", page)
	csp := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'self'; style-src 'self' fonts.googleapis.com")
	assert.Contains(t, csp, "'nonce-"+m[1]+"'", "the kit's nonce is in the app's policy")
	assert.Contains(t, csp, "https://widget.prefinery.com")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	res, page = post("/user/logout", page, url.Values{})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NotNil(t, res.Request.Response, "the logout redirected")
	assert.Equal(t, `"cache"`, res.Request.Response.Header.Get("Clear-Site-Data"), "the logout response clears the browser's cache")
	assert.Empty(t, prefinerytest.SignedInAs(t, page), "nothing signed after logout")
	assert.Contains(t, page, "logged out successfully")
}

// TestTheBooksTestHelpers: the book's tests build their own application
// (newTestApplication) and serve app.routes(), without main. The kit is built
// in routes(), so those tests need no fixture line and no environment (in a
// test binary the kit signs with prefinerytest's secret); a test that signs
// in checks the page in one line.
func TestTheBooksTestHelpers(t *testing.T) {
	for _, name := range []string{"PREFINERY_IDENTITY_SECRET", "PREFINERY_PROJECT_KEY"} {
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
	templateCache, err := newTemplateCache()
	require.NoError(t, err)
	app := &application{ // as the book's newTestApplication builds it: no kit
		logger:         slogDiscard(),
		users:          models.NewUserModel(models.User{Name: "Bob", Email: "Bob@Example.com", EmailConfirmed: true}),
		templateCache:  templateCache,
		sessionManager: scs.New(),
	}
	get, post := browser(t, app.routes())
	_, page := get("/user/login")
	_, page = post("/user/login", page, url.Values{"email": {"bob@example.com"}, "password": {"pa55word"}})
	assert.Equal(t, "Bob@Example.com", prefinerytest.SignedInAs(t, page))
}

// browser serves handler and returns a browser's GET and form POST (with
// the CSRF token of the page it posts from), both following redirects.
func browser(t *testing.T, handler http.Handler) (get func(path string) (*http.Response, string), post func(path, page string, form url.Values) (*http.Response, string)) {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	do := func(req *http.Request) (*http.Response, string) {
		res, err := c.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	get = func(path string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		return do(req)
	}
	post = func(path, page string, form url.Values) (*http.Response, string) {
		m := csrfField.FindStringSubmatch(page)
		require.NotNil(t, m, "a CSRF token on the page")
		form.Set("csrf_token", html.UnescapeString(m[1]))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
		req.Header.Set("Referer", srv.URL+"/")
		return do(req)
	}
	return get, post
}
