// Package frameworktest is the flow every framework example (echo, gin,
// templ) proves over a real loopback server: signed out, sign in, a signed
// page and the identity endpoint, sign out. It is for those examples' tests.
package frameworktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SignInFlow serves handler on loopback and walks one browser-like client
// through it: "/" renders no authenticateUser call; after POST /login with
// email, "/" renders authenticateUser with email and its signature under
// secret (computed here with crypto/hmac, independently of the kit) and is
// no-store, and /prefinery/identity answers the same identity; after POST
// /logout, "/" renders no call again.
func SignInFlow(t *testing.T, handler http.Handler, secret, email string) {
	t.Helper()
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
	_, body := get("/")
	assert.NotContains(t, body, "authenticateUser")
	res, err := c.PostForm(srv.URL+"/login", url.Values{"email": {email}})
	require.NoError(t, err)
	res.Body.Close()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(email))
	sig := hex.EncodeToString(mac.Sum(nil))
	res, body = get("/")
	assert.Contains(t, body, `prefinery('authenticateUser', {"email":"`+email+`","signature":"`+sig+`"})`)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "a signed page: the kit's writer is the framework's response writer")
	_, body = get("/prefinery/identity")
	assert.JSONEq(t, `{"email":"`+email+`","signature":"`+sig+`"}`, body)
	res, err = c.PostForm(srv.URL+"/logout", nil)
	require.NoError(t, err)
	res.Body.Close()
	_, body = get("/")
	assert.NotContains(t, body, "authenticateUser", "nothing after logout")
}
