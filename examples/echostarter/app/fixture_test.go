package app

import (
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerytest"
	"github.com/stretchr/testify/assert"
)

// fixture is built once, in TestMain, the way starter apps build their
// service container for every test; TestMain has no testing.TB, so the kit
// comes from prefinerytest.NewKit.
var fixture *server

func TestMain(m *testing.M) {
	fixture = &server{users: map[string]*User{}, sessions: map[string]*User{
		"ada-sid": {Email: "ada@example.com", EmailConfirmed: true},
		"eve-sid": {Email: "eve@example.com"},
	}}
	var err error
	if fixture.kit, err = prefinerytest.NewKit(prefinery.Config{AutoInsert: true}); err != nil {
		log.Fatal(err)
	}
	os.Exit(m.Run())
}

// TestAuthenticateNamesTheUser checks the integration from the shared
// fixture, without rendering a page: behind the kit, the app's auth
// middleware names the confirmed user to it, and nobody else.
func TestAuthenticateNamesTheUser(t *testing.T) {
	for sid, want := range map[string]string{"ada-sid": "ada@example.com", "eve-sid": "", "": ""} {
		e := echo.New()
		e.Use(echo.WrapMiddleware(fixture.kit.Middleware), fixture.authenticate)
		var got string
		e.GET("/", func(c echo.Context) error {
			id, _ := fixture.kit.Identity(c.Request().Context())
			got = id.Identifier
			return c.NoContent(http.StatusNoContent)
		})
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
		e.ServeHTTP(httptest.NewRecorder(), req)
		assert.Equal(t, want, got, "session %q", sid)
	}
}
