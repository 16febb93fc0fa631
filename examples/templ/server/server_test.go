package server

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

	"github.com/prefinerykit/prefinery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTempl(t *testing.T) {
	secret, err := prefinery.NewSecret("templ-example-test-secret-0123456789")
	require.NoError(t, err)
	e, err := New(secret, "/static/widget.js")
	require.NoError(t, err)
	srv := httptest.NewServer(e)
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
	res, err := c.PostForm(srv.URL+"/login", url.Values{"email": {"templ@example.com"}})
	require.NoError(t, err)
	res.Body.Close()
	mac := hmac.New(sha256.New, []byte("templ-example-test-secret-0123456789"))
	mac.Write([]byte("templ@example.com"))
	sig := hex.EncodeToString(mac.Sum(nil))
	res, body = get("/")
	assert.Contains(t, body, `prefinery('authenticateUser', {"email":"templ@example.com","signature":"`+sig+`"})`)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "a signed page")
	_, body = get("/prefinery/identity")
	assert.JSONEq(t, `{"email":"templ@example.com","signature":"`+sig+`"}`, body)
	res, err = c.PostForm(srv.URL+"/logout", nil)
	require.NoError(t, err)
	res.Body.Close()
	_, body = get("/")
	assert.NotContains(t, body, "authenticateUser", "nothing after logout")
}
