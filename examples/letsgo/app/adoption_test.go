package app

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prefinerykit/prefinery/examples/letsgo/models"
	"github.com/prefinerykit/prefinery/prefinerytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adoptionBudget is what adopting the kit may cost this app, in changed Go
// lines (login and logout included), with no template and no CSP edited.
const adoptionBudget = 12

// codeLines returns a Go file's lines without its package clause and the doc
// comment above it (the two packages differ there by necessity), each with
// its whitespace normalized (gofmt realigns neighbours of a new field).
func codeLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	src := string(b)
	if i := strings.Index(src, "\npackage "); i >= 0 && strings.HasPrefix(src, "//") {
		src = src[i+1:]
	}
	var out []string
	for _, line := range strings.Split(src, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" || strings.HasPrefix(line, "package ") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// changedLines counts the lines of after that are not in a longest common
// subsequence with before: the lines added or modified.
func changedLines(before, after []string) (int, []string) {
	lcs := make([][]int, len(before)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(after)+1)
	}
	for i := len(before) - 1; i >= 0; i-- {
		for j := len(after) - 1; j >= 0; j-- {
			if before[i] == after[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var changed []string
	i, j := 0, 0
	for j < len(after) {
		switch {
		case i < len(before) && before[i] == after[j]:
			i, j = i+1, j+1
		case i < len(before) && lcs[i+1][j] >= lcs[i][j+1]:
			i++
		default:
			changed = append(changed, after[j])
			j++
		}
	}
	return len(changed), changed
}

// TestAdoption states how the app adopted the kit: at most adoptionBudget
// changed Go lines; the templates are the same files (package ui serves both);
// the CSP middleware is untouched.
func TestAdoption(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	total := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		n, lines := changedLines(codeLines(t, filepath.Join("..", "before", f)), codeLines(t, f))
		for _, l := range lines {
			t.Logf("%s: + %s", f, l)
		}
		total += n
	}
	t.Logf("adopting the kit changed %d Go lines (budget %d)", total, adoptionBudget)
	assert.LessOrEqual(t, total, adoptionBudget)
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
	srv := httptest.NewServer(handler)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (*http.Response, string) {
		res, err := c.Get(srv.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	post := func(path, page string, form url.Values) (*http.Response, string) {
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
		res, err := c.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	_, page := get("/user/login")
	assert.Empty(t, prefinerytest.SignedIn(t, page), "nobody signed in")
	res, page := post("/user/login", page, url.Values{"email": {"bob@example.com"}, "password": {"pa55word"}})
	require.Equal(t, http.StatusOK, res.StatusCode, page)
	assert.Equal(t, "Bob@Example.com", prefinerytest.SignedIn(t, page), "the address as the user record holds it, not as typed")
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
	assert.Empty(t, prefinerytest.SignedIn(t, page), "nothing signed after logout")
	assert.Contains(t, page, "logged out successfully")
}
