package prefinerygin_test

import (
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/testlog"
	"github.com/prefinerykit/prefinery/prefinerygin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const page = `<!doctype html><html><head>{{prefineryEmbed .Request}}</head><body>{{.Title}}</body></html>`

// naive is the adapter most gin users write first: it runs the middleware
// and carries its request on, but keeps gin's writer.
func naive(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// app is a gin app as the README wires it, with the app's own CSP and a
// handler that asks for caching; adapt says how net/http middleware goes in.
func app(t *testing.T, adapt func(func(http.Handler) http.Handler) gin.HandlerFunc) (*httptest.Server, *testlog.Buffer) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	logger, logs := testlog.New()
	secret, err := prefinery.NewSecret("gin-module-test-secret-0123456789")
	require.NoError(t, err)
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sessions, ProjectKey: "ab12cd34",
		Logger: logger})
	require.NoError(t, err)
	r := gin.New()
	r.Use(func(c *gin.Context) { c.Header("Content-Security-Policy", "default-src 'self'"); c.Next() })
	r.Use(adapt(sessions.LoadAndSave), adapt(kit.Middleware))
	r.SetFuncMap(kit.FuncMap())
	r.SetHTMLTemplate(template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(page)))
	r.GET("/", func(c *gin.Context) {
		c.Header("Cache-Control", "private, max-age=600")
		prefinerygin.HTML(c, http.StatusOK, "page", gin.H{"Title": "home"})
	})
	r.POST("/login", func(c *gin.Context) {
		require.NoError(t, kit.Login(c.Request.Context(), c.PostForm("email")))
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/gone", func(c *gin.Context) { c.AbortWithStatus(http.StatusNoContent) })
	r.GET("/prefinery/identity", prefinerygin.Handler(kit.IdentityHandler()))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, logs
}

func signIn(t *testing.T, srv *httptest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.PostForm(srv.URL+"/login", url.Values{"email": {"gin@example.com"}})
	require.NoError(t, err)
	res.Body.Close()
	return c
}

var scriptNonce = regexp.MustCompile(`<script nonce="([^"]+)"`)

// TestWrapProtectsGinResponses: through Wrap, a signed gin page is no-store
// whatever the handler set, its scripts' nonce is in the page's CSP, the
// identity endpoint answers, and the kit logs nothing.
func TestWrapProtectsGinResponses(t *testing.T) {
	srv, logs := app(t, prefinerygin.Wrap)
	c := signIn(t, srv)
	res, err := c.Get(srv.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Contains(t, string(body), "authenticateUser")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	m := scriptNonce.FindSubmatch(body)
	require.NotNil(t, m)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "'nonce-"+string(m[1])+"'")
	res, err = c.Get(srv.URL + "/prefinery/identity")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, err = c.Get(srv.URL + "/gone")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNoContent, res.StatusCode, "c.AbortWithStatus goes through the kit's writer")
	assert.NotContains(t, logs.String(), `"level":"ERROR"`)
}

// TestNaiveAdapterIsReported: the adapter that keeps gin's writer signs in
// and renders the call, but the page keeps the handler's caching and gets
// no nonce in its CSP (control); the kit logs one ERROR naming the fix.
func TestNaiveAdapterIsReported(t *testing.T) {
	srv, logs := app(t, naive)
	c := signIn(t, srv)
	for range 3 {
		res, err := c.Get(srv.URL + "/")
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Contains(t, string(body), "authenticateUser")
		assert.Equal(t, "private, max-age=600", res.Header.Get("Cache-Control"), "control: the kit never saw the response")
		assert.Equal(t, "default-src 'self'", res.Header.Get("Content-Security-Policy"))
	}
	assert.Equal(t, 1, strings.Count(logs.String(), `"level":"ERROR"`), logs.String())
	assert.Contains(t, logs.String(), "prefinerygin.Wrap")
}

// TestWrapAbortsWhenTheMiddlewareAnswers: a middleware that answers without
// calling on stops gin's chain.
func TestWrapAbortsWhenTheMiddlewareAnswers(t *testing.T) {
	gin.SetMode(gin.TestMode)
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	}
	ran := false
	r := gin.New()
	r.Use(prefinerygin.Wrap(deny))
	r.GET("/", func(c *gin.Context) { ran = true })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.False(t, ran)
}
