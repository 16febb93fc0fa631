// Package server is the Echo (v4) example: the kit's and scs's net/http
// middleware go in through echo.WrapMiddleware, the kit's template functions
// into Echo's renderer, the identity endpoint through echo.WrapHandler.
package server

import (
	"html/template"
	"io"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
	"github.com/prefinerykit/prefinery"
)

const pageHTML = `<!doctype html><html><head><title>echo</title>{{prefineryEmbed .}}</head>
<body>{{with prefineryIdentifier .}}Signed in as <span id="who">{{.}}</span>. <form method="post" action="/logout"><button id="logout">Sign out</button></form>
{{else}}<form method="post" action="/login"><input id="email" name="email"><button id="login-submit">Sign in</button></form>{{end}}</body></html>`

// renderer is Echo's template renderer, with the kit's functions.
type renderer struct{ t *template.Template }

func (r renderer) Render(w io.Writer, name string, data any, _ echo.Context) error {
	return r.t.ExecuteTemplate(w, name, data)
}

// New wires scs, the kit and the routes into Echo; widgetURL is the loader.
func New(secret prefinery.Secret, widgetURL string) (*echo.Echo, error) {
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sessions, WidgetURL: widgetURL})
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.Use(echo.WrapMiddleware(sessions.LoadAndSave), echo.WrapMiddleware(kit.Middleware))
	e.Renderer = renderer{template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(pageHTML))}

	e.GET("/", func(c echo.Context) error { return c.Render(http.StatusOK, "page", c.Request()) })
	e.POST("/login", func(c echo.Context) error {
		// A real app checks a password and passes the address its user record holds.
		if err := kit.Login(c.Request().Context(), c.FormValue("email")); err != nil {
			return c.String(http.StatusBadRequest, "cannot sign in with that address")
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := kit.Logout(c.Request().Context()); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.GET("/prefinery/identity", echo.WrapHandler(kit.IdentityHandler()))
	return e, nil
}
