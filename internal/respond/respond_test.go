package respond

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJSONHeaders: every answer is no-store, nosniff, same-origin, Vary:
// Cookie once, without the CORS grants a middleware set; HEAD has no body.
func TestJSONHeaders(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		w := httptest.NewRecorder()
		for _, name := range CORSHeaders {
			w.Header().Set(name, "*")
		}
		w.Header().Set("Vary", "Accept-Encoding, cookie")
		w.Header().Set("Content-Length", "99")
		Error(w, httptest.NewRequest(method, "/", nil), http.StatusTeapot, "short and stout")
		h := w.Result().Header
		assert.Equal(t, http.StatusTeapot, w.Code)
		assert.Equal(t, "no-store", h.Get("Cache-Control"))
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		assert.Equal(t, "same-origin", h.Get("Cross-Origin-Resource-Policy"))
		assert.Equal(t, []string{"Accept-Encoding, cookie"}, h.Values("Vary"), "Cookie is listed once")
		assert.Empty(t, h.Get("Content-Length"))
		for _, name := range CORSHeaders {
			assert.Empty(t, h.Get(name), name)
		}
		if method == http.MethodHead {
			assert.Empty(t, w.Body.String())
		} else {
			assert.JSONEq(t, `{"error":"short and stout"}`, w.Body.String())
		}
	}
}
