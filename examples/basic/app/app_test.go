package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/standin"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testSecret is a throwaway secret for the demo's tests.
var testSecret = func() prefinery.Secret {
	s, err := prefinery.NewSecret("example-app-test-secret-0123456789")
	if err != nil {
		panic(err)
	}
	return s
}()

func newServer(t *testing.T) (*App, *httptest.Server, *http.Client) {
	t.Helper()
	demo, err := New(Options{Secret: testSecret})
	require.NoError(t, err)
	srv := httptest.NewServer(demo.Handler)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return demo, srv, &http.Client{Jar: jar}
}

func fetch(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return fetch(t, c, req)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values, headers ...string) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return fetch(t, c, req)
}

var authCall = regexp.MustCompile(`<script nonce="([^"]+)" hx-history="false" data-turbo-temporary>prefinery\('authenticateUser', \{"email":"([^"]*)","signature":"([0-9a-f]{64})"\}\);</script>`)

func TestLoginAccountLogout(t *testing.T) {
	demo, srv, c := newServer(t)

	res, body := get(t, c, srv.URL+"/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Nil(t, authCall.FindStringSubmatch(body), "no authenticateUser call for an anonymous visitor")
	assert.Contains(t, body, StandInPath, "the offline stand-in loads")

	res, body = postForm(t, c, srv.URL+"/login", url.Values{"email": {"new.user@example.com"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "/account", res.Request.URL.Path, "login redirects to the account page")
	m := authCall.FindStringSubmatch(body)
	require.NotNil(t, m, "the account page renders authenticateUser:\n%s", body)
	assert.Equal(t, "new.user@example.com", m[2])
	assert.Equal(t, demo.Kit.Sign("new.user@example.com"), m[3], "the signature is the user's")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "'nonce-"+m[1]+"'", "the script carries the page's CSP nonce")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	res, body = get(t, c, srv.URL+"/prefinery/identity")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"email":"new.user@example.com","signature":"`+m[3]+`"}`, body)

	res, body = postForm(t, c, srv.URL+"/logout", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Nil(t, authCall.FindStringSubmatch(body), "the script is gone after logout")
	assert.Contains(t, body, StandInPath, "the loader stays, for signup forms")
	res, _ = get(t, c, srv.URL+"/prefinery/identity")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, _ = get(t, c, srv.URL+"/account")
	assert.Equal(t, "/login", res.Request.URL.Path, "the account page needs a signed-in user")
}

func TestLoginRefusesCrossOriginPost(t *testing.T) {
	_, srv, c := newServer(t)
	res, _ := postForm(t, c, srv.URL+"/login", url.Values{"email": {"x@example.com"}}, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = postForm(t, c, srv.URL+"/login", url.Values{"email": {"x@example.com"}}, "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = get(t, c, srv.URL+"/prefinery/identity")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "nobody got signed in")
}

func TestLoginRefusesBadIdentifier(t *testing.T) {
	_, srv, c := newServer(t)
	for _, bad := range []string{"", "a\x00b@x.com", strings.Repeat("a", 400)} {
		res, body := postForm(t, c, srv.URL+"/login", url.Values{"email": {bad}})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, body, "cannot be used")
	}
}

func TestSPAPageAndStandIn(t *testing.T) {
	_, srv, c := newServer(t)
	postForm(t, c, srv.URL+"/login", url.Values{"email": {"spa@example.com"}})
	res, body := get(t, c, srv.URL+"/spa")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Nil(t, authCall.FindStringSubmatch(body), "the SPA page renders no identity itself")
	assert.Contains(t, body, `fetch("/prefinery/identity"`)
	res, body = get(t, c, srv.URL+StandInPath)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "window.prefineryCalls")
}

// TestNewNeedsSecret: without a secret New fails. In a test binary the kit
// signs with the test secret when PREFINERY_IDENTITY_SECRET is unset, so the
// test sets it empty, as a deployment that forgot it would.
func TestNewNeedsSecret(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", "")
	_, err := New(Options{})
	assert.ErrorContains(t, err, "PREFINERY_IDENTITY_SECRET")
}

// TestWebhooks: a delivery signed with the demo's webhook secret is verified
// and shown on the webhooks page; the stand-in's button sends one.
func TestWebhooks(t *testing.T) {
	_, srv, c := newServer(t)
	res, body := get(t, c, srv.URL+"/webhooks")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "No events yet")

	res, err := c.Post(srv.URL+standin.Path+"webhook", "application/json", nil)
	require.NoError(t, err)
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.JSONEq(t, `{"status":200}`, string(answer), "the stand-in's delivery was accepted")

	// A delivery signed the way Prefinery signs it, as an app's own test does.
	demoSecret, err := prefinery.NewSecret(DemoWebhookSecret)
	require.NoError(t, err)
	event := []byte(`{"event":"tester_updated","data":{"id":7}}`)
	header, err := webhook.Sign(demoSecret, time.Now(), event)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/prefinery", bytes.NewReader(event))
	require.NoError(t, err)
	req.Header.Set(webhook.Header, header)
	res, err = c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "signed with webhook.Sign: accepted")

	res, err = c.Post(srv.URL+"/webhooks/prefinery", "application/json", strings.NewReader(`{"forged":true}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "unsigned: refused")

	_, body = get(t, c, srv.URL+"/webhooks")
	assert.Contains(t, body, "tester_created")
	assert.Contains(t, body, "tester_updated")
	assert.NotContains(t, body, "forged")
}
