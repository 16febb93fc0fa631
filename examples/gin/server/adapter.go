package server

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// fromNetHTTP runs a net/http middleware (scs's LoadAndSave, kit.Middleware)
// in gin's chain: the rest of the chain runs inside it, on the request and
// writer it passes on; if it answers without calling on, the chain stops.
func fromNetHTTP(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		next := false
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next = true
			c.Request, c.Writer = r, &ginWriter{ResponseWriter: c.Writer, w: w}
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !next {
			c.Abort()
		}
	}
}

// ginWriter is gin's writer with the writes going to the middleware's.
type ginWriter struct {
	gin.ResponseWriter
	w http.ResponseWriter
}

func (g *ginWriter) Header() http.Header               { return g.w.Header() }
func (g *ginWriter) WriteHeader(code int)              { g.w.WriteHeader(code) }
func (g *ginWriter) Write(b []byte) (int, error)       { return g.w.Write(b) }
func (g *ginWriter) WriteString(s string) (int, error) { return io.WriteString(g.w, s) }
func (g *ginWriter) Flush()                            { _ = http.NewResponseController(g.w).Flush() }
func (g *ginWriter) Unwrap() http.ResponseWriter       { return g.w }
