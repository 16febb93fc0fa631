package prefinerytest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/testkit"
	"github.com/prefinerykit/prefinery/prefinerytest"
	"github.com/prefinerykit/prefinery/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeT records a Fatalf instead of stopping the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = format
	panic(f)
}

func fails(f func(t testing.TB)) (failed bool) {
	ft := &fakeT{}
	defer func() {
		if r := recover(); r != nil {
			failed = r == ft
		}
	}()
	f(ft)
	return false
}

// TestSignedInAs: a page rendered by a test kit signs its user, one signed
// out signs nobody, and a page whose signature is not the test secret's
// fails the test.
func TestSignedInAs(t *testing.T) {
	sessions := scs.New()
	kit := prefinerytest.New(t, prefinery.Config{Sessions: sessions})
	page := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(
		`<head>{{prefineryEmbed .}}</head><body>{{prefineryEmbedReferralPage . "refs"}}{{prefineryAddUser . (prefineryFields "first_name" "Ada")}}</body>`))
	var login bool
	h := sessions.LoadAndSave(kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if login {
			if err := kit.Login(r.Context(), "ada@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		_ = page.Execute(w, r)
	})))
	render := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Body.String()
	}
	if got := prefinerytest.SignedInAs(t, render()); got != "" {
		t.Errorf("signed out: the page signs %q", got)
	}
	login = true
	signed := render()
	if got := prefinerytest.SignedInAs(t, signed); got != "ada@example.com" {
		t.Errorf("the page signs %q", got)
	}
	if got := prefinerytest.SignedIn(t, signed); got != "ada@example.com" {
		t.Errorf("SignedIn, the old name: the page signs %q", got)
	}
	calls := prefinerytest.Calls(t, signed)
	var names []string
	for _, c := range calls {
		names = append(names, c.Name)
		if c.Identifier != "ada@example.com" {
			t.Errorf("%s signs %q", c.Name, c.Identifier)
		}
	}
	if strings.Join(names, " ") != "authenticateUser embedReferralPage addUser" {
		t.Errorf("calls %v", names)
	}
	if !strings.Contains(signed, standinLoader) {
		t.Error("the test kit loads the offline stand-in")
	}

	forged := strings.Replace(signed, calls[0].Signature, strings.Repeat("0", 64), 1)
	if !fails(func(t testing.TB) { prefinerytest.SignedInAs(t, forged) }) {
		t.Error("a signature that is not the test secret's fails the test")
	}
	if !fails(func(t testing.TB) { prefinerytest.SignedInAs(t, signed+signed) }) {
		t.Error("two authenticateUser calls fail the test")
	}
}

const standinLoader = `src="http://example.com/prefinery-standin/widget.js"` // on the request's host: an injected <base> cannot move it

// TestSignedInReadsWhatRuns: SignedInAs reads the page as a browser runs it. A
// signed call inside <template>, a comment or a script of another type does
// not sign the page in; a <meta> CSP (which the kit cannot amend, so a
// browser blocks its scripts) fails the test. The control is the same call
// in a running script.
func TestSignedInReadsWhatRuns(t *testing.T) {
	mac := hmac.New(sha256.New, []byte(prefinerytest.SecretText))
	mac.Write([]byte("ada@example.com"))
	call := `prefinery('authenticateUser', {"email":"ada@example.com","signature":"` + hex.EncodeToString(mac.Sum(nil)) + `"});`
	for _, tt := range []struct {
		name, page string
		want       string
		fail       bool
	}{
		{"running script (control)", `<html><head><script>` + call + `</script></head><body></body></html>`, "ada@example.com", false},
		{"inside template", `<html><body><template><script>` + call + `</script></template></body></html>`, "", false},
		{"in a comment", `<html><body><!-- <script>` + call + `</script> --></body></html>`, "", false},
		{"a script of another type", `<html><body><script type="text/plain">` + call + `</script></body></html>`, "", false},
		{"in an attribute", `<html><body><div data-x="` + strings.ReplaceAll(call, `"`, "&quot;") + `"></div></body></html>`, "", false},
		{"meta CSP", `<html><head><meta http-equiv="Content-Security-Policy" content="script-src 'self'"><script>` + call + `</script></head></html>`, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			failed := fails(func(t testing.TB) { got = prefinerytest.SignedInAs(t, tt.page) })
			assert.Equal(t, tt.fail, failed)
			if !tt.fail {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// TestNewKit: NewKit needs no testing.TB and no environment (AutoInsert
// included: the stand-in is its loader), and returns New's error for a
// Config New refuses, where New fails the test.
func TestNewKit(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", "")
	t.Setenv("PREFINERY_PROJECT_KEY", "")
	require.NoError(t, os.Unsetenv("PREFINERY_IDENTITY_SECRET"))
	require.NoError(t, os.Unsetenv("PREFINERY_PROJECT_KEY"))
	kit, err := prefinerytest.NewKit(prefinery.Config{AutoInsert: true})
	require.NoError(t, err)
	page := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryEmbed .}}</head>`))
	var out strings.Builder
	require.NoError(t, page.Execute(&out, httptest.NewRequest(http.MethodGet, "/", nil)))
	assert.Contains(t, out.String(), standinLoader)
	assert.Equal(t, hexMAC("ada@example.com"), kit.Sign("ada@example.com"), "the test secret")

	bad := prefinery.Config{Sessions: scs.New(), User: func(*http.Request) (string, bool) { return "", false }}
	kit, err = prefinerytest.NewKit(bad)
	assert.ErrorIs(t, err, prefinery.ErrInvalidConfig)
	assert.Nil(t, kit)
	assert.True(t, fails(func(t testing.TB) { prefinerytest.New(t, bad) }), "New fails the test where NewKit returns the error")
}

// hexMAC is identifier's signature under the test secret.
func hexMAC(identifier string) string {
	mac := hmac.New(sha256.New, []byte(prefinerytest.SecretText))
	mac.Write([]byte(identifier))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestEndpointIdentity: an API-only app checks its identity endpoint in a
// few lines: a signed-in request gives the user, a signed-out one "", and a
// forged signature or a wrong status fails the test.
func TestEndpointIdentity(t *testing.T) {
	kit := prefinerytest.New(t, prefinery.Config{EndpointOnly: true, User: func(r *http.Request) (string, bool) {
		return "ada@example.com", r.Header.Get("Authorization") == "Token ada"
	}})
	h := kit.Middleware(kit.IdentityHandler())
	get := func(token string) (int, []byte) {
		r := httptest.NewRequest(http.MethodGet, "/prefinery/identity", nil)
		if token != "" {
			r.Header.Set("Authorization", token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code, rec.Body.Bytes()
	}
	status, body := get("Token ada")
	assert.Equal(t, "ada@example.com", prefinerytest.EndpointIdentity(t, status, body))
	status, body = get("")
	assert.Equal(t, "", prefinerytest.EndpointIdentity(t, status, body))
	status, body = get("Token ada")
	var fields map[string]string
	require.NoError(t, json.Unmarshal(body, &fields))
	fields["signature"] = strings.Repeat("0", 64)
	forged, err := json.Marshal(fields)
	require.NoError(t, err)
	assert.True(t, fails(func(t testing.TB) { prefinerytest.EndpointIdentity(t, status, forged) }), "a forged signature fails")
	assert.True(t, fails(func(t testing.TB) { prefinerytest.EndpointIdentity(t, 500, nil) }), "a 500 fails")
}

// TestSignedInAfter: an app's auth step, run behind the kit, names the user
// it finds to the kit (Login per request, or Config.User), and nobody else;
// a nil Kit fails the test.
func TestSignedInAfter(t *testing.T) {
	confirmed := map[string]bool{"ada@example.com": true, "eve@example.com": false}
	perRequest := prefinerytest.New(t, prefinery.Config{AutoInsert: true})
	authenticate := func(next http.Handler) http.Handler { // an app's auth middleware, as README row (b)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if email := r.Header.Get("X-User"); confirmed[email] {
				assert.NoError(t, perRequest.Login(r.Context(), email))
			}
			next.ServeHTTP(w, r)
		})
	}
	userFunc := prefinerytest.New(t, prefinery.Config{EndpointOnly: true, User: func(r *http.Request) (string, bool) {
		email := r.Header.Get("X-User")
		return email, confirmed[email]
	}})
	tests := []struct {
		name string
		kit  *prefinery.Kit
		run  func(http.ResponseWriter, *http.Request)
		user string // the request's X-User
		want string
	}{
		{"Login from the auth middleware", perRequest, authenticate(http.NotFoundHandler()).ServeHTTP, "ada@example.com", "ada@example.com"},
		{"an unconfirmed address is not named", perRequest, authenticate(http.NotFoundHandler()).ServeHTTP, "eve@example.com", ""},
		{"nobody signed in", perRequest, authenticate(http.NotFoundHandler()).ServeHTTP, "", ""},
		{"no auth step: nobody named", perRequest, nil, "ada@example.com", ""},
		{"Config.User finds the user", userFunc, nil, "ada@example.com", "ada@example.com"},
		{"Config.User, unconfirmed", userFunc, nil, "eve@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("X-User", tt.user)
			assert.Equal(t, tt.want, prefinerytest.SignedInAfter(t, tt.kit, r, tt.run))
		})
	}
	assert.True(t, fails(func(t testing.TB) {
		prefinerytest.SignedInAfter(t, nil, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	}), "a nil Kit fails the test")
}

// TestNewInATestBinary: prefinery.New, as an app's own code calls it, needs
// no environment in a test binary: its Kit signs with the test secret and
// loads the stand-in, so SignedInAs reads the app's pages.
func TestNewInATestBinary(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", "")
	t.Setenv("PREFINERY_PROJECT_KEY", "")
	require.NoError(t, os.Unsetenv("PREFINERY_IDENTITY_SECRET"))
	require.NoError(t, os.Unsetenv("PREFINERY_PROJECT_KEY"))
	kit := prefinery.MustNew(prefinery.Config{User: func(*http.Request) (string, bool) { return "ada@example.com", true }, AutoInsert: true})
	page := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><body><h1>Account</h1></body></html>"))
	}))
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/account", nil))
	assert.Equal(t, "ada@example.com", prefinerytest.SignedInAs(t, rec.Body.String()))
	assert.Contains(t, rec.Body.String(), standinLoader)
}

// TestSharedValues: the values a test binary's Kit falls back to are this
// package's secret and the stand-in's loader.
func TestSharedValues(t *testing.T) {
	assert.Equal(t, prefinerytest.SecretText, testkit.SecretText)
	assert.Equal(t, standin.WidgetURL, testkit.WidgetURL)
}
