// Package prefinerygin runs the prefinery kit in a gin app: scs's session
// middleware and the kit's middleware as gin handlers that pass the request
// and the response writer on, so the kit sees every response (no-store on
// signed pages, its nonce in the page's CSP), and the kit's template
// functions with the request in reach of gin's HTML rendering.
//
// The example of [Wrap] shows a gin app wired this way, as code the compiler
// checks: both middlewares through [Wrap], pages through [HTML] with
// {{prefineryEmbed .Request}} in the layout, the identity endpoint through
// [Handler].
//
// An app whose own auth middleware keeps the signed-in user in gin's context
// (c.Set) names that user to the kit with [Login], placed after both the
// kit's middleware and the auth middleware, in whichever order those two
// run; its example shows the usual gin order, the auth first.
//
// It is its own module, so the library's go.mod does not require gin. Its
// go.mod requires the oldest gin its tests run against, v1.7.7 (they run
// against the newest too, with go.newest.mod), so adopting it does not
// upgrade an app's gin: the build uses the higher of the app's requirement
// and this one. Its go line is not gin's but the kit's, go 1.26.0 (the kit
// needs a golang.org/x/net that requires it), and adopting it moves an
// older go line there. gin releases before v1.9.1 have an advisory,
// GO-2023-1737 (Context.FileAttachment's Content-Disposition filename),
// in code this package does not call; whether it applies is the app's
// gin choice.
package prefinerygin

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prefinerykit/prefinery"
)

// Wrap runs a net/http middleware (scs's LoadAndSave, kit.Middleware) as a
// gin handler. The rest of gin's chain runs inside it, on the request it
// passes on and with c.Writer writing through the writer it passes on;
// both are restored afterwards. When the middleware answers itself without
// calling on, gin's chain is aborted.
func Wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		outerRequest, outerWriter := c.Request, c.Writer
		called := false
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			c.Request, c.Writer = r, &writer{ResponseWriter: outerWriter, w: w}
			c.Next()
		})).ServeHTTP(outerWriter, outerRequest)
		c.Request, c.Writer = outerRequest, outerWriter
		if !called {
			c.Abort()
		}
	}
}

// Handler serves an http.Handler (kit.IdentityHandler) on a gin route,
// through the writer the wrapped middleware passed on.
func Handler(h http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// Login is a gin handler that names the request's signed-in user to the kit
// (kit.Login), for a Kit without Config.Sessions or Config.User whose user
// the app's own auth middleware finds. user reads what that middleware left
// in gin's context (c.Get) and returns the identifier to sign, or false when
// nobody is signed in (or the address is not confirmed): then Login does
// nothing and the request goes on signed out.
//
// Put it after the kit's middleware and after the app's auth, on every route
// that renders the kit's calls or serves the identity endpoint:
//
//	r.Use(auth, prefinerygin.Wrap(kit.Middleware), prefinerygin.Login(kit, user))
//
// kit.Login only works inside the kit's middleware, so an auth middleware
// that runs first (gin's usual order) cannot call it itself; Login goes
// after both instead, and the auth middleware stays as it is.
//
// When kit.Login fails (Login placed before the kit's middleware, an
// identifier the kit refuses), the request is aborted with 500 and no body,
// and the kit's error, naming the fix, is added to c.Errors, where gin's
// Logger prints it: the page is never rendered signed out for a signed-in
// user without a word. Login passes kit.Login the request's context, the one
// the kit's middleware passed on: c itself is a context.Context, but unless
// the engine sets ContextWithFallback it does not reach the request's values
// and kit.Login(c, …) fails.
func Login(kit *prefinery.Kit, user func(c *gin.Context) (identifier string, ok bool)) gin.HandlerFunc {
	if user == nil {
		panic("prefinerygin.Login: user is nil; pass the function that reads the signed-in user from gin's context")
	}
	return func(c *gin.Context) {
		identifier, ok := user(c)
		if !ok {
			return
		}
		if err := kit.Login(c.Request.Context(), identifier); err != nil {
			_ = c.AbortWithError(http.StatusInternalServerError, fmt.Errorf("prefinerygin.Login: %w", err))
		}
	}
}

// HTML renders the named template as c.HTML does, with the request added to
// data as "Request", where the kit's template functions take it:
// {{prefineryEmbed .Request}}. data may be nil.
func HTML(c *gin.Context, code int, name string, data gin.H) {
	if data == nil {
		data = gin.H{}
	}
	data["Request"] = c.Request
	c.HTML(code, name, data)
}

// writer is gin's writer with every write going to the middleware's writer
// (which ends in gin's), and gin's own bookkeeping (Status, Size, Written)
// left to gin's.
type writer struct {
	gin.ResponseWriter
	w http.ResponseWriter
}

func (g *writer) Header() http.Header               { return g.w.Header() }
func (g *writer) WriteHeader(code int)              { g.w.WriteHeader(code) }
func (g *writer) Write(b []byte) (int, error)       { return g.w.Write(b) }
func (g *writer) WriteString(s string) (int, error) { return io.WriteString(g.w, s) }
func (g *writer) Flush()                            { _ = http.NewResponseController(g.w).Flush() }
func (g *writer) Unwrap() http.ResponseWriter       { return g.w }

// WriteHeaderNow sends the status gin recorded through the middleware's
// writer first (gin calls it for c.AbortWithStatus and bodyless answers).
func (g *writer) WriteHeaderNow() {
	if !g.ResponseWriter.Written() {
		g.w.WriteHeader(g.ResponseWriter.Status())
	}
	g.ResponseWriter.WriteHeaderNow()
}

// Hijack hands over the connection through the middleware's writer.
func (g *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(g.w).Hijack()
}
