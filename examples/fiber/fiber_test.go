// Package fiber records what works with Fiber (v2, on fasthttp, whose
// handlers get no *http.Request) and what does not, through Fiber's own
// net/http adaptor. It has no app: the kit is a net/http library, and these
// tests are the evidence behind the README's Frameworks note.
package fiber

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prefinerykit/prefinery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newKit(t *testing.T, sessions *scs.SessionManager) *prefinery.Kit {
	t.Helper()
	secret, err := prefinery.NewSecret("fiber-test-secret-0123456789")
	require.NoError(t, err)
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sessions, ProjectKey: "ab12cd34"})
	require.NoError(t, err)
	return kit
}

// do sends req to the Fiber app and returns the status and body.
func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := app.Test(req, -1)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestFiberMiddlewareLosesTheIdentity: adaptor.HTTPMiddleware runs the kit's
// middleware, but only headers and the URL travel back to Fiber; the
// request's context (with the identity) and the kit's response writer do not.
// A Fiber handler cannot read the identity, and its responses are not
// protected. This does NOT work.
func TestFiberMiddlewareLosesTheIdentity(t *testing.T) {
	sessions := scs.New()
	kit := newKit(t, sessions)
	app := fiber.New()
	app.Use(adaptor.HTTPMiddleware(sessions.LoadAndSave), adaptor.HTTPMiddleware(kit.Middleware))
	var seen bool
	app.Get("/", func(c *fiber.Ctx) error {
		_, seen = kit.Identity(c.UserContext())
		c.Set("Cache-Control", "public, max-age=600")
		return c.SendString("page")
	})
	res, _ := do(t, app, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.False(t, seen, "the identity does not reach a Fiber handler")
	assert.Equal(t, "public, max-age=600", res.Header.Get("Cache-Control"), "nor do the kit's response protections")
}

// TestFiberMountedNetHTTP: mounting a whole net/http sub-app with
// adaptor.HTTPHandler works: sessions, login, pages rendered with the kit's
// template functions, the identity endpoint and the response protections all
// run inside net/http. This is the way to use the kit with Fiber.
func TestFiberMountedNetHTTP(t *testing.T) {
	sessions := scs.New()
	kit := newKit(t, sessions)
	page := template.Must(template.New("p").Funcs(kit.FuncMap()).Parse(`<head>{{prefineryEmbed .}}</head>`))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, kit.Login(r.Context(), r.FormValue("email")))
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) { _ = page.Execute(w, r) })
	mux.Handle("GET /prefinery/identity", kit.IdentityHandler())
	app := fiber.New()
	app.Use(adaptor.HTTPHandler(sessions.LoadAndSave(kit.Middleware(mux))))

	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {"fiber@example.com"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, _ := do(t, app, req)
	require.Equal(t, http.StatusOK, res.StatusCode)
	cookies := res.Cookies()
	require.NotEmpty(t, cookies, "the session cookie comes back through the adaptor")

	req = httptest.NewRequest(http.MethodGet, "/account", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, body := do(t, app, req)
	assert.Contains(t, body, `prefinery('authenticateUser', {"email":"fiber@example.com","signature":"`+kit.Sign("fiber@example.com")+`"})`)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	req = httptest.NewRequest(http.MethodGet, "/prefinery/identity", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	_, body = do(t, app, req)
	assert.JSONEq(t, `{"email":"fiber@example.com","signature":"`+kit.Sign("fiber@example.com")+`"}`, body)
}
