package standin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWidget(t *testing.T) {
	w := New()
	mux := http.NewServeMux()
	mux.Handle(Path, w)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + WidgetURL)
	require.NoError(t, err)
	js, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, string(js), "window.prefineryCalls")

	post := func(body string) int {
		res, err := http.Post(srv.URL+Path+"calls", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusNoContent, post(`["authenticateUser",{"email":"a@b.c","signature":"00"}]`))
	assert.Equal(t, http.StatusNoContent, post(`["embedReferralPage",{"dom_id":"r"}]`))
	for _, bad := range []string{``, `{}`, `[]`, `[1]`, `[""]`, strings.Repeat("[", maxReport+1)} {
		assert.Equal(t, http.StatusBadRequest, post(bad), "%.20q", bad)
	}
	calls := w.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, "authenticateUser", calls[0].Name)
	assert.JSONEq(t, `{"email":"a@b.c","signature":"00"}`, string(calls[0].Args[0]))
	assert.Equal(t, "embedReferralPage", calls[1].Name)
	w.Reset()
	assert.Empty(t, w.Calls())

	res, err = http.Get(srv.URL + Path + "calls")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}
