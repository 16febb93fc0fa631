// Package server is the gin example: scs's and the kit's net/http
// middleware go in through prefinerygin.Wrap, the kit's template functions
// through SetFuncMap and prefinerygin.HTML, the identity endpoint through
// prefinerygin.Handler; the app sets its own Content-Security-Policy.
package server

import (
	"html/template"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/prefinerygin"
)

const pageHTML = `<!doctype html><html><head><title>gin</title>{{prefineryEmbed .Request}}</head>
<body>{{with prefineryIdentifier .Request}}Signed in as <span id="who">{{.}}</span>. <form method="post" action="/logout"><button id="logout">Sign out</button></form>
{{else}}<form method="post" action="/login"><input id="email" name="email"><button id="login-submit">Sign in</button></form>{{end}}</body></html>`

// New wires scs, the kit and the routes into gin; widgetURL is the loader.
func New(secret prefinery.Secret, widgetURL string) (*gin.Engine, error) {
	sessions := scs.New()
	kit, err := prefinery.New(prefinery.Config{Secret: secret, Sessions: sessions, WidgetURL: widgetURL})
	if err != nil {
		return nil, err
	}
	r := gin.New()
	r.Use(gin.Recovery(), secureHeaders)
	r.Use(prefinerygin.Wrap(sessions.LoadAndSave), prefinerygin.Wrap(kit.Middleware))
	r.SetFuncMap(kit.FuncMap())
	r.SetHTMLTemplate(template.Must(template.New("page").Funcs(kit.FuncMap()).Parse(pageHTML)))

	r.GET("/", func(c *gin.Context) { prefinerygin.HTML(c, http.StatusOK, "page", nil) })
	r.POST("/login", func(c *gin.Context) {
		// A real app checks a password and passes the address its user record holds.
		if err := kit.Login(c.Request.Context(), c.PostForm("email")); err != nil {
			c.String(http.StatusBadRequest, "cannot sign in with that address")
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		if err := kit.Logout(c.Request.Context()); err != nil {
			c.String(http.StatusInternalServerError, "logout failed")
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/prefinery/identity", prefinerygin.Handler(kit.IdentityHandler()))
	return r, nil
}

// secureHeaders is the app's own policy; the kit adds its nonce and the
// loader's origin to it.
func secureHeaders(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; object-src 'none'")
	c.Next()
}
