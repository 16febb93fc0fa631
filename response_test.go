package prefinery

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignedResponseHeaders: whatever a handler (or a CORS or CDN middleware
// inside the kit) puts on a response, one that carries the identity, or a
// signed-in user's page, leaves with no-store and without validators, CDN
// cache controls or CORS grants; other responses are left alone.
func TestSignedResponseHeaders(t *testing.T) {
	t.Parallel()
	hostile := func(h http.Header) {
		h.Set("Cache-Control", `public, max-age=600, private="Set-Cookie"`)
		h.Set("ETag", `"v1"`)
		h.Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		h.Set("CDN-Cache-Control", "max-age=600")
		h.Set("Cloudflare-CDN-Cache-Control", "max-age=600")
		h.Set("Surrogate-Control", "max-age=600")
		h.Set("Access-Control-Allow-Origin", "https://evil.example.test")
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "X-Anything")
	}
	page := func(contentType string, read bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			hostile(w.Header())
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			if read {
				id, _ := kitOf(r).Identity(r.Context())
				_, _ = io.WriteString(w, "<p>"+id.Signature+"</p>")
				return
			}
			_, _ = io.WriteString(w, "<p>no identity here</p>")
		}
	}
	tests := []struct {
		name      string
		user      string
		handler   http.HandlerFunc
		protected bool
	}{
		{"page that read the identity", "a@x.com", page("text/html; charset=utf-8", true), true},
		{"page that has not read it yet", "a@x.com", page("text/html", false), true},
		{"no content type yet", "a@x.com", page("", false), true},
		{"json that read the identity", "a@x.com", page("application/json", true), true},
		{"plain text that read the identity", "a@x.com", page("text/plain", true), true},
		{"image of a signed-in user", "a@x.com", page("image/png", false), false},
		{"stylesheet of a signed-in user", "a@x.com", page("text/css", false), false},
		{"anonymous page", "", page("text/html", true), false},
		{"early hints, then the page", "a@x.com", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			page("text/html", true)(w, r)
		}, true},
		{"status written before the body", "a@x.com", func(w http.ResponseWriter, r *http.Request) {
			hostile(w.Header())
			w.WriteHeader(http.StatusCreated)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kit := userKit(t, tt.user)
			srv := httptest.NewServer(kit.Middleware(withKitOf(kit, tt.handler))) // a real server: 1xx are not final there
			defer srv.Close()
			res, err := http.Get(srv.URL)
			require.NoError(t, err)
			res.Body.Close()
			h := res.Header
			if !tt.protected {
				assert.Equal(t, `public, max-age=600, private="Set-Cookie"`, h.Get("Cache-Control"), "left alone")
				assert.Equal(t, `"v1"`, h.Get("ETag"))
				return
			}
			assert.Equal(t, "no-store", h.Get("Cache-Control"))
			assert.Equal(t, "no-cache", h.Get("Pragma"))
			assert.Equal(t, "0", h.Get("Expires"))
			for _, name := range unsafeOnSignedResponses {
				assert.Equal(t, http.CanonicalHeaderKey(name), name, "canonical, as the kit deletes it")
				assert.Empty(t, h.Values(name), name)
			}
		})
	}
}

// kitOf finds the Kit that signed r in, for handlers shared between Kits
// (withKitOf puts it in the context).
func kitOf(r *http.Request) *Kit {
	k, _ := r.Context().Value(testKitKey{}).(*Kit)
	return k
}

type testKitKey struct{}

// withKitOf makes kit reachable by kitOf from the requests h serves.
func withKitOf(kit *Kit, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), testKitKey{}, kit)))
	})
}

// userKit is a Kit whose signed-in user is user ("" for nobody).
func userKit(t *testing.T, user string) *Kit {
	t.Helper()
	kit := newKit(t, Config{EndpointOnly: true, User: func(*http.Request) (string, bool) { return user, user != "" }})
	return kit
}

// TestSignedResponseHeaderSliceIsFresh: a handler that edits the header slice
// the kit set cannot change what later responses get.
func TestSignedResponseHeaderSliceIsFresh(t *testing.T) {
	t.Parallel()
	kit := userKit(t, "a@x.com")
	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = kit.Identity(r.Context())
		w.WriteHeader(http.StatusOK)
		w.Header()["Cache-Control"][0] = "public, max-age=31536000"
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "no-store", rec.Result().Header.Get("Cache-Control"))
	assert.Equal(t, "no-store", kit.cfg.CacheControl)
}

// TestIdentityReadAfterUnprotectedHeaderIsLogged: a handler that sends a
// text/plain header first and reads the identity after gets a warning, once.
func TestIdentityReadAfterUnprotectedHeaderIsLogged(t *testing.T) {
	t.Parallel()
	logger, logs := testLogger()
	kit := newKit(t, Config{EndpointOnly: true, User: func(*http.Request) (string, bool) { return "a@x.com", true }, Logger: logger})
	h := kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		id, _ := kit.Identity(r.Context())
		_, _ = io.WriteString(w, id.Signature)
	}))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "read after the response header was sent"), logs.String())
}

// TestConditionalRequestsNeverReplayASignedPage: a handler that serves
// validators (http.ServeContent) answers a signed-in user's page request with
// the full page, never 304, and without validators; images keep their 304,
// and so do signed-out users.
func TestConditionalRequestsNeverReplayASignedPage(t *testing.T) {
	t.Parallel()
	modified := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	content := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"page-v1"`)
		http.ServeContent(w, r, "page.html", modified, strings.NewReader("<p>page</p>"))
	}
	tests := []struct {
		name, user, dest string
		want             int
	}{
		{"signed-in page", "a@x.com", "document", http.StatusOK},
		{"signed-in page, no fetch metadata", "a@x.com", "", http.StatusOK},
		{"signed-in fetch", "a@x.com", "empty", http.StatusOK},
		{"signed-in image", "a@x.com", "image", http.StatusNotModified},
		{"signed-out page", "", "document", http.StatusNotModified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(userKit(t, tt.user).Middleware(http.HandlerFunc(content)))
			defer srv.Close()
			for _, cond := range [][2]string{{"If-None-Match", `"page-v1"`}, {"If-Modified-Since", modified.Format(http.TimeFormat)}} {
				req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
				require.NoError(t, err)
				req.Header.Set(cond[0], cond[1])
				if tt.dest != "" {
					req.Header.Set("Sec-Fetch-Dest", tt.dest)
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				assert.Equal(t, tt.want, res.StatusCode, cond[0])
				if tt.want == http.StatusOK {
					assert.Equal(t, "<p>page</p>", string(body))
					assert.Empty(t, res.Header.Get("ETag"))
					assert.Empty(t, res.Header.Get("Last-Modified"))
				}
			}
		})
	}
}

// TestSignedResponseKeepsInterfaces: handlers behind the kit can still flush,
// hijack (type assertion or ResponseController) and set deadlines.
func TestSignedResponseKeepsInterfaces(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{EndpointOnly: true, User: func(*http.Request) (string, bool) { return "a@x.com", true }})
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		require.True(t, ok, "http.Flusher")
		_, _ = io.WriteString(w, "part")
		f.Flush()
		assert.NoError(t, http.NewResponseController(w).SetWriteDeadline(time.Time{}))
	})
	mux.HandleFunc("/hijack", hijacker(t))
	srv := httptest.NewServer(kit.Middleware(mux))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/flush")
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "part", string(b))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "flushing sends the protected header")

	res, err = http.Get(srv.URL + "/hijack")
	require.NoError(t, err)
	b, _ = io.ReadAll(bufio.NewReader(res.Body))
	res.Body.Close()
	assert.Equal(t, "hijacked", string(b))
}

// TestVaryListsEachFieldOnce: scs and nosurf both add Vary: Cookie; a
// response through the kit lists it once, other fields kept in order.
func TestVaryListsEachFieldOnce(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{})
	rec := httptest.NewRecorder()
	kit.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		w.Header().Add("Vary", "Accept-Encoding, cookie")
		w.Header().Add("Vary", "Cookie")
		_, _ = io.WriteString(w, "ok")
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, []string{"Cookie, Accept-Encoding"}, rec.Result().Header.Values("Vary"))
}
