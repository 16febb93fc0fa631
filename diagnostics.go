package prefinery

import (
	"context"
	"log/slog"

	"github.com/prefinerykit/prefinery/internal/logonce"
)

// diagnostic names one wiring mistake the kit can see at run time: each is
// logged once per Kit, with what was wrong and the fix, since it would
// otherwise repeat on every request.
type diagnostic uint8

const (
	noSession           diagnostic = iota // the middleware runs outside LoadAndSave
	notThroughKit                         // a helper ran on a request that skipped the middleware
	sessionValueNotText                   // the session key holds something other than a string
	readAfterHeader                       // the identity was read after an unprotected header went out
	cspAfterScripts                       // the page's CSP was set after the kit's scripts rendered
	appNonceMissing                       // Config.Nonce gave nothing for a page with a CSP
	metaCSP                               // AutoInsert saw a <meta> CSP it cannot amend
	writerBypassed                        // the identity was read, the response written elsewhere
	loaderNotFound                        // the loader on the app's own origin answered 404
	endpointRefused                       // the identity endpoint refused a read from another origin
	encodedPage                           // AutoInsert met an HTML page already compressed inside the kit
	diagnosticCount
)

// diagnosticMessages is what each diagnostic says: the level, what was
// wrong, and the fix.
var diagnosticMessages = [diagnosticCount]struct {
	level        slog.Level
	problem, fix string
}{
	noSession: {slog.LevelError,
		"no scs session in the request context; every request looks signed out",
		"Put kit.Middleware inside sessions.LoadAndSave (the session must be loaded before the kit reads it)"},
	notThroughKit: {slog.LevelError,
		"a template function, the identity endpoint, or Login or Logout without Config.Sessions ran on a request that did not pass through kit.Middleware, so it looks signed out (or the change is lost)",
		"wrap the routes: sessions.LoadAndSave(kit.Middleware(mux)), or alice.New(sessions.LoadAndSave, kit.Middleware)"},
	sessionValueNotText: {slog.LevelError,
		"the session key holds a value that is not the user's identifier as a string, so every user looks signed out to Prefinery",
		"store the identifier with kit.Login (or under another SessionKey), or look the user up with Config.User"},
	readAfterHeader: {slog.LevelWarn,
		"the identity was read after the response header was sent without no-store",
		"render it before writing the response, or give the response a text/html Content-Type"},
	cspAfterScripts: {slog.LevelWarn,
		"the page's Content-Security-Policy was set after the kit rendered its scripts, which carry no nonce and will be blocked",
		"set the CSP header before the handler runs"},
	appNonceMissing: {slog.LevelWarn,
		"Config.Nonce gave no nonce for a page with a Content-Security-Policy: the kit's scripts carry none and may be blocked",
		"return the page's nonce, or leave Config.Nonce nil and the kit adds its own to the policy"},
	metaCSP: {slog.LevelWarn,
		`a page sets its Content-Security-Policy in a <meta http-equiv="Content-Security-Policy"> tag, which the kit cannot add its nonce to`,
		"send the policy as a header instead"},
	writerBypassed: {slog.LevelError,
		"a response that read the signed-in user's identity was not written through kit.Middleware's response writer, so it left without no-store and without the kit's CSP nonce",
		"pass on the writer the middleware gives the next handler: in gin use prefinerygin.Wrap(kit.Middleware) (a c.Next() that keeps gin's writer bypasses the kit); in net/http never write to a ResponseWriter captured outside the kit's middleware"},
	loaderNotFound: {slog.LevelError,
		"the widget loader Config.WidgetURL names on the app's own origin answered 404, so no page loads the widget",
		`serve it at that path: mount the stand-in so it gets every path under standin.Path (net/http: mux.Handle(standin.Path, widget); chi: r.Handle(standin.Path+"*", widget); gin: r.Any(standin.Path+"*any", gin.WrapH(widget)))`},
	encodedPage: {slog.LevelWarn,
		"AutoInsert met an HTML page that was already compressed (Content-Encoding) when it reached the kit, so it inserted nothing: a compressing middleware runs inside kit.Middleware",
		"put the compressing middleware outside the kit, so it compresses what the kit sends: net/http and chi: compress(kit.Middleware(mux)); Echo: e.Use(middleware.Gzip()) before e.Use(echo.WrapMiddleware(kit.Middleware)); gin: the gzip handler before prefinerygin.Wrap(kit.Middleware)"},
	endpointRefused: {slog.LevelWarn,
		"the identity endpoint refused a read from another origin, or a subresource or no-cors load (403); a page of the app's own origin is always answered",
		"if the origin is your single-page app and it sends a bearer token, add it to Config.SPAOrigins; a cookie-authenticated read from another site stays refused (a hostile page could make it with the user's cookies)"},
}

// fixWithoutSessions is the fix for a Kit without Config.Sessions, where the
// table's names scs.
var fixWithoutSessions = map[diagnostic]string{
	notThroughKit: "wrap the routes in kit.Middleware, with the app's auth middleware (which calls kit.Login) inside it: kit.Middleware(auth(mux)); in gin, whose auth usually runs first, add prefinerygin.Login after prefinerygin.Wrap(kit.Middleware)",
}

// diagnostics logs each diagnostic once.
type diagnostics struct {
	log      *slog.Logger
	ownUsers bool // the Kit has no Config.Sessions: fixes that name scs do not apply
	logged   logonce.Set[diagnostic]
}

// report logs d with attrs the first time; later reports are dropped.
func (ds *diagnostics) report(d diagnostic, attrs ...slog.Attr) {
	if !ds.logged.First(d) {
		return
	}
	m := diagnosticMessages[d]
	fix := m.fix
	if other, ok := fixWithoutSessions[d]; ok && ds.ownUsers {
		fix = other
	}
	ds.log.LogAttrs(context.Background(), m.level, "prefinery: "+m.problem+"; "+fix, attrs...)
}
