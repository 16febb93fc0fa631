package app

import (
	"io/fs"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/justinas/alice"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/examples/letsgo/ui"
)

func (app *application) routes() http.Handler {
	app.kit = prefinery.MustNew(prefinery.Config{User: app.prefineryUser, AutoInsert: true})
	router := httprouter.New()
	router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { app.clientError(w, http.StatusNotFound) })
	static, _ := fs.Sub(ui.Files, "static")
	router.Handler(http.MethodGet, "/static/*filepath", http.StripPrefix("/static", http.FileServerFS(static)))

	dynamic := alice.New(app.sessionManager.LoadAndSave, noSurf, app.authenticate, app.kit.Middleware)
	router.Handler(http.MethodGet, "/", dynamic.ThenFunc(app.home))
	router.Handler(http.MethodGet, "/user/login", dynamic.ThenFunc(app.userLogin))
	router.Handler(http.MethodPost, "/user/login", dynamic.ThenFunc(app.userLoginPost))

	protected := dynamic.Append(app.requireAuthentication)
	router.Handler(http.MethodGet, "/account/view", protected.ThenFunc(app.accountView))
	router.Handler(http.MethodPost, "/user/logout", protected.ThenFunc(app.userLogoutPost))

	standard := alice.New(app.recoverPanic, app.logRequest, secureHeaders)
	return standard.Then(router)
}
