package main

import (
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
	const secret = "chi-example-test-secret-0123456789"
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
	signer, err := prefinery.NewSigner(secret)
	require.NoError(t, err)
	assert.Equal(t, "chi@example.com", got["email"])
	assert.True(t, signer.Verify("chi@example.com", got["signature"]))
}
