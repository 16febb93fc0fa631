package prefinery

import (
	"html/template"
	"log/slog"
	"net/http"

	"github.com/prefinerykit/prefinery/internal/errs"
	"github.com/prefinerykit/prefinery/internal/logonce"
	"github.com/prefinerykit/prefinery/internal/respond"
)

// A nil *Kit is what an app holds when it dropped New's error, or built its
// handlers without calling New (a test fixture that skips the router). Its
// methods never panic: those that return an error return errNilKit; the
// others answer "nobody signed in" or fail closed (the middleware and the
// identity endpoint answer 500, never serve a page unprotected). Each method
// logs once, through slog.Default (a nil Kit has no Config.Logger).

// errNilKit is every error a nil *Kit returns.
var errNilKit = errs.New("a nil *prefinery.Kit: use the Kit New returned (and stop when New returns an error)", ErrInvalidConfig)

// nilKitLogged holds the methods already reported on a nil Kit.
var nilKitLogged logonce.Set[string]

// reportNilKit logs, once per method, that method was called on a nil Kit.
func reportNilKit(method string) {
	if nilKitLogged.First(method) {
		slog.Default().Error(errNilKit.Error(), slog.String("method", "Kit."+method))
	}
}

// nilKitError is what a nil Kit's methods that return an error return.
func nilKitError(method string) error {
	reportNilKit(method)
	return errNilKit
}

// nilKitHandler is a nil Kit's middleware and identity endpoint: every
// request is answered 500 with a generic JSON error, so no page goes out
// without the kit's protections.
func nilKitHandler(method string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reportNilKit(method)
		respond.Error(w, r, http.StatusInternalServerError, "server misconfigured")
	})
}

// nilKitFuncMap is a nil Kit's FuncMap: the same names (read off a Kit's,
// so they cannot drift), each stopping the template with errNilKit,
// prefineryFields excepted: it needs no Kit.
func nilKitFuncMap() template.FuncMap {
	fail := func(...any) (template.HTML, error) { return "", nilKitError("FuncMap") }
	m := (&Kit{}).FuncMap() // builds method values only: no field is read
	for name := range m {
		if name != "prefineryFields" {
			m[name] = fail
		}
	}
	return m
}
