//go:build readmecheck

// This file keeps in go.mod the modules the README's blocks import (the
// test writes those blocks out and builds them with this go.mod); it is never
// built.
package readmecheck

import (
	_ "github.com/a-h/templ"
	_ "github.com/alexedwards/scs/redisstore"
	_ "github.com/alexedwards/scs/v2"
	_ "github.com/gin-gonic/gin"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/gomodule/redigo/redis"
	_ "github.com/gorilla/mux"
	_ "github.com/justinas/alice"
	_ "github.com/labstack/echo/v4"
	_ "github.com/prefinerykit/prefinery"
	_ "github.com/prefinerykit/prefinery/prefinerygin"
	_ "github.com/prefinerykit/prefinery/prefinerytempl"
	_ "github.com/prefinerykit/prefinery/prefinerytest"
	_ "github.com/prefinerykit/prefinery/standin"
	_ "github.com/prefinerykit/prefinery/webhook"
)
