// Package app is the Echo starter after adopting the kit: the user its auth
// middleware keeps in Echo's context is handed to the kit with kit.Login,
// AutoInsert puts the signed call into the pages, Logout clears the
// browser's cache. examples/echostarter/before is the same app before.
package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/prefinerykit/prefinery"
)

// User is an account; EmailConfirmed says the user followed the link mailed
// to Email.
type User struct {
	Email          string
	EmailConfirmed bool
	Password       string
}

const page = `<!doctype html><html><head><title>starter</title></head><body>
{{with .User}}Signed in as <span id="who">{{.Email}}</span>. <form method="post" action="/logout"><button id="logout">Sign out</button></form>
{{else}}<form method="post" action="/login"><input id="email" name="email"><input id="password" name="password" type="password"><button id="login-submit">Sign in</button></form>{{end}}
</body></html>`

type renderer struct{ t *template.Template }

func (r renderer) Render(w io.Writer, name string, data any, _ echo.Context) error {
	return r.t.ExecuteTemplate(w, name, data)
}

// server is the app's state: its users and who holds which session.
type server struct {
	mu       sync.Mutex
	users    map[string]*User
	sessions map[string]*User // session id -> user
	kit      *prefinery.Kit
}

// New returns the app with users (by email).
func New(users ...*User) (*echo.Echo, error) {
	s := &server{users: map[string]*User{}, sessions: map[string]*User{}, kit: prefinery.MustNew(prefinery.Config{AutoInsert: true})}
	for _, u := range users {
		s.users[u.Email] = u
	}
	e := echo.New()
	e.Renderer = renderer{template.Must(template.New("page").Parse(page))}
	e.Use(echo.WrapMiddleware(s.kit.Middleware), s.authenticate)
	e.GET("/", func(c echo.Context) error {
		user, _ := c.Get("user").(*User)
		return c.Render(http.StatusOK, "page", map[string]any{"User": user})
	})
	e.POST("/login", s.login)
	e.POST("/logout", s.logout)
	return e, nil
}

// authenticate keeps the signed-in user in Echo's context.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if cookie, err := c.Cookie("sid"); err == nil {
			s.mu.Lock()
			user := s.sessions[cookie.Value]
			s.mu.Unlock()
			if user != nil {
				c.Set("user", user)
				if user.EmailConfirmed { // sign only an address the user confirmed
					_ = s.kit.Login(c.Request().Context(), user.Email) // fails (and logs) only outside kit.Middleware
				}
			}
		}
		return next(c)
	}
}

func (s *server) login(c echo.Context) error {
	s.mu.Lock()
	user := s.users[c.FormValue("email")]
	s.mu.Unlock()
	if user == nil || user.Password != c.FormValue("password") {
		return c.String(http.StatusUnauthorized, "wrong email or password")
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	sid := hex.EncodeToString(b)
	s.mu.Lock()
	s.sessions[sid] = user
	s.mu.Unlock()
	c.SetCookie(&http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *server) logout(c echo.Context) error {
	if cookie, err := c.Cookie("sid"); err == nil {
		s.mu.Lock()
		delete(s.sessions, cookie.Value)
		s.mu.Unlock()
	}
	c.SetCookie(&http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
	return errors.Join(s.kit.Logout(c.Request().Context()), c.Redirect(http.StatusSeeOther, "/"))
}
