// Package prefinerytempl renders the kit's snippets as templ components, for
// apps that write their pages with templ (github.com/a-h/templ). It is its own
// module, so the kit's go.mod never requires templ.
//
// [For] gives a Kit's components, which a .templ file renders as it renders
// its own: <head>@p.Embed()</head>, with p those components. The examples of
// [For] and [Nonce] show pages with them, as code the compiler checks.
//
// Each component reads the identity from the context the kit's middleware
// filled (templ passes the request's context to Render), and renders exactly
// what the kit's template function of the same name renders. Nonces: leave
// Config.Nonce nil and the kit puts its own on the scripts and into the page's
// CSP; an app that sets templ's nonce (templ.WithNonce) sets Config.Nonce to
// [Nonce] instead.
package prefinerytempl

import (
	"context"
	"errors"
	"html/template"
	"io"
	"net/http"

	"github.com/a-h/templ"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/snippetfuncs"
)

// Nonce is a prefinery Config.Nonce for apps that use templ's CSP nonce.
func Nonce(r *http.Request) string { return templ.GetNonce(r.Context()) }

// Components renders a Kit's snippets and calls as templ components.
type Components struct {
	funcs snippetfuncs.Funcs
}

// For returns the components of kit. A nil kit gives components that render
// an error.
func For(kit *prefinery.Kit) Components { return Components{funcs: snippetfuncs.Of(kit)} }

// errNoKit is what every component of For(nil) renders.
var errNoKit = errors.New("prefinerytempl: For was given a nil *prefinery.Kit")

// render writes what fn renders for the request whose context ctx is.
func render(fn func(*http.Request) (template.HTML, error)) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		if fn == nil {
			return errNoKit
		}
		html, err := fn((&http.Request{Header: http.Header{}}).WithContext(ctx))
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, string(html))
		return err
	})
}

// Embed is prefineryEmbed: the queue stub, the loader and, for a signed-in
// user, the authenticateUser call.
func (c Components) Embed() templ.Component { return render(c.funcs.Embed) }

// Loader is prefineryLoader: the stub and the loader only.
func (c Components) Loader() templ.Component { return render(c.funcs.Loader) }

// Authenticate is prefineryAuthenticate: only the authenticateUser call.
func (c Components) Authenticate() templ.Component { return render(c.funcs.Authenticate) }

// PopupReferralPage is prefineryPopupReferralPage.
func (c Components) PopupReferralPage() templ.Component { return render(c.funcs.PopupReferralPage) }

// EmbedReferralPage is prefineryEmbedReferralPage: the referral page in the
// element whose id is domID.
func (c Components) EmbedReferralPage(domID string) templ.Component {
	fn := c.funcs.EmbedReferralPage
	if fn == nil {
		return render(nil)
	}
	return render(func(r *http.Request) (template.HTML, error) { return fn(r, domID) })
}

// GetUser is prefineryGetUser: getUser, answering the global function
// callback (or a dotted path to one).
func (c Components) GetUser(callback string) templ.Component {
	fn := c.funcs.GetUser
	if fn == nil {
		return render(nil)
	}
	return render(func(r *http.Request) (template.HTML, error) { return fn(r, callback) })
}

// AddUser is prefineryAddUser: addUser with fields, signed when a user is
// signed in.
func (c Components) AddUser(fields map[string]any) templ.Component {
	fn := c.funcs.AddUser
	if fn == nil {
		return render(nil)
	}
	return render(func(r *http.Request) (template.HTML, error) { return fn(r, fields) })
}

// Call is prefineryCall: another documented Web API call for the signed-in
// user.
func (c Components) Call(name string, fields map[string]any) templ.Component {
	fn := c.funcs.Call
	if fn == nil {
		return render(nil)
	}
	return render(func(r *http.Request) (template.HTML, error) { return fn(r, name, fields) })
}
