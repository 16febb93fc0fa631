package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prefinerykit/prefinery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChiRouter(t *testing.T) {
	secret, err := prefinery.NewSecret("chi-example-test-secret-0123456789")
	require.NoError(t, err)
	router, err := newRouter(secret)
	require.NoError(t, err)
	srv := httptest.NewServer(router)
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar}

	res, err := c.Get(srv.URL + "/prefinery/identity")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)

	res, err = c.PostForm(srv.URL+"/login", url.Values{"email": {"chi@example.com"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	res, err = c.Get(srv.URL + "/prefinery/identity")
	require.NoError(t, err)
	defer res.Body.Close()
	var got map[string]string
	require.NoError(t, json.NewDecoder(res.Body).Decode(&got))
	mac := hmac.New(sha256.New, []byte("chi-example-test-secret-0123456789"))
	mac.Write([]byte("chi@example.com"))
	assert.Equal(t, map[string]string{"email": "chi@example.com", "signature": hex.EncodeToString(mac.Sum(nil))}, got)
}
