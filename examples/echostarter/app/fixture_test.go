package app

import (
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
// service container for every test, with the kit the app's own code builds:
// in a test binary prefinery.New (and MustNew) needs no environment.
var fixture *server

func TestMain(m *testing.M) {
	fixture = &server{users: map[string]*User{}, sessions: map[string]*User{
		"ada-sid": {Email: "ada@example.com", EmailConfirmed: true},
		"eve-sid": {Email: "eve@example.com"},
	}, kit: prefinery.MustNew(prefinery.Config{AutoInsert: true})}
	os.Exit(m.Run())
}

// TestAuthenticateNamesTheUser checks the integration from the shared
// fixture, without rendering a page: behind the kit, the app's auth
// middleware names the confirmed user to it, and nobody else.
func TestAuthenticateNamesTheUser(t *testing.T) {
	for sid, want := range map[string]string{"ada-sid": "ada@example.com", "eve-sid": "", "": ""} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
		c := echo.New().NewContext(req, httptest.NewRecorder())
		assert.Equal(t, want, prefinerytest.SignedInAfter(t, fixture.kit, req, func(_ http.ResponseWriter, r *http.Request) {
			c.SetRequest(r)
			_ = fixture.authenticate(func(echo.Context) error { return nil })(c)
		}), "session %q", sid)
	}
}
