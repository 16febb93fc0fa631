// Package snippetfuncs gives the module's renderers for other template
// engines (prefinerytempl) the kit's template functions as typed Go values,
// so a renamed or retyped function fails to compile instead of failing when
// a page renders. The root package fills [Of] when it loads; nothing outside
// the module can import it.
package snippetfuncs

import (
	"html/template"
	"net/http"
)

// Funcs are one Kit's template functions, named as in its FuncMap without
// the "prefinery" prefix.
type Funcs struct {
	Embed, Loader, Authenticate, PopupReferralPage func(*http.Request) (template.HTML, error)
	EmbedReferralPage, GetUser                     func(r *http.Request, arg string) (template.HTML, error)
	AddUser                                        func(r *http.Request, fields map[string]any) (template.HTML, error)
	Call                                           func(r *http.Request, name string, fields map[string]any) (template.HTML, error)
}

// Of returns the template functions of a *prefinery.Kit (its argument is
// typed any because this package cannot import the root), or zero Funcs for
// a nil Kit or another type.
var Of func(kit any) Funcs
