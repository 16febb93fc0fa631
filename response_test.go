package prefinery

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignedResponseEnforcesAtWriteHeader(t *testing.T) {
	signedIn, err := New(Config{Secret: testSecret, User: func(*http.Request) (string, bool) { return "a@x.com", true }})
	require.NoError(t, err)
	anonymous, err := New(Config{Secret: testSecret, User: func(*http.Request) (string, bool) { return "", false }})
	require.NoError(t, err)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		user    string
		want    string
	}{
		{"public set late", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=600")
			_, _ = io.WriteString(w, "page")
		}, "a@x.com", "private"},
		{"public set before WriteHeader", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "s-maxage=60")
			w.WriteHeader(http.StatusCreated)
		}, "a@x.com", "private"},
		{"no-store kept", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, "page")
		}, "a@x.com", "no-store"},
		{"early hints then public", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("Cache-Control", "public")
			_, _ = io.WriteString(w, "page")
		}, "a@x.com", "private"},
		{"anonymous untouched", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=600")
			_, _ = io.WriteString(w, "page")
		}, "", "public, max-age=600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kit := signedIn
			if tt.user == "" {
				kit = anonymous
			}
			srv := httptest.NewServer(kit.Middleware(tt.handler)) // a real server: 1xx are not final there
			defer srv.Close()
			res, err := http.Get(srv.URL)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, tt.want, res.Header.Get("Cache-Control"))
		})
	}
}

// TestSignedResponseKeepsInterfaces: handlers behind the kit can still flush,
// hijack (type assertion or ResponseController) and set deadlines.
func TestSignedResponseKeepsInterfaces(t *testing.T) {
	kit, err := New(Config{Secret: testSecret, User: func(*http.Request) (string, bool) { return "a@x.com", true }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		require.True(t, ok, "http.Flusher")
		_, _ = io.WriteString(w, "part")
		f.Flush()
		assert.NoError(t, http.NewResponseController(w).SetWriteDeadline(time.Time{}))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		h, ok := w.(http.Hijacker)
		require.True(t, ok, "http.Hijacker")
		conn, buf, err := h.Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = buf.Flush()
	})
	srv := httptest.NewServer(kit.Middleware(mux))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/flush")
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "part", string(b))
	assert.Equal(t, "private", res.Header.Get("Cache-Control"), "flushing sends the private header")

	res, err = http.Get(srv.URL + "/hijack")
	require.NoError(t, err)
	b, _ = io.ReadAll(bufio.NewReader(res.Body))
	res.Body.Close()
	assert.Equal(t, "hijacked", string(b))
}
