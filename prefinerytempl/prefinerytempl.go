// Package prefinerytempl renders the kit's snippets as templ components, for
// apps that write their pages with templ (github.com/a-h/templ). It is its own
// module, so the kit's go.mod never requires templ.
//
//	p := prefinerytempl.For(kit)
//	// in a .templ file, with p passed in (or kept in a package variable):
//	//   <head>@p.Embed()</head>
//	//   <div id="referrals"></div>
//	//   @p.EmbedReferralPage("referrals")
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
)

// Nonce is a prefinery Config.Nonce for apps that use templ's CSP nonce.
func Nonce(r *http.Request) string { return templ.GetNonce(r.Context()) }

// Components renders a Kit's snippets and calls as templ components.
type Components struct {
	funcs map[string]any
}

// For returns the components of kit.
func For(kit *prefinery.Kit) Components { return Components{funcs: kit.FuncMap()} }

// errNotAFunction would mean the kit's FuncMap changed shape.
var errNotAFunction = errors.New("prefinerytempl: the kit's template function has an unexpected type")

// render writes what fn renders for the request whose context ctx is.
func render(fn func(*http.Request) (template.HTML, error)) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		html, err := fn((&http.Request{Header: http.Header{}}).WithContext(ctx))
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, string(html))
		return err
	})
}

func (c Components) plain(name string) templ.Component {
	fn, ok := c.funcs[name].(func(*http.Request) (template.HTML, error))
	if !ok {
		return templ.ComponentFunc(func(context.Context, io.Writer) error { return errNotAFunction })
	}
	return render(fn)
}

// Embed is prefineryEmbed: the queue stub, the loader and, for a signed-in
// user, the authenticateUser call.
func (c Components) Embed() templ.Component { return c.plain("prefineryEmbed") }

// Loader is prefineryLoader: the stub and the loader only.
func (c Components) Loader() templ.Component { return c.plain("prefineryLoader") }

// Authenticate is prefineryAuthenticate: only the authenticateUser call.
func (c Components) Authenticate() templ.Component { return c.plain("prefineryAuthenticate") }

// PopupReferralPage is prefineryPopupReferralPage.
func (c Components) PopupReferralPage() templ.Component {
	return c.plain("prefineryPopupReferralPage")
}

// EmbedReferralPage is prefineryEmbedReferralPage: the referral page in the
// element whose id is domID.
func (c Components) EmbedReferralPage(domID string) templ.Component {
	return c.withString("prefineryEmbedReferralPage", domID)
}

// GetUser is prefineryGetUser: getUser, answering the global function
// callback (or a dotted path to one).
func (c Components) GetUser(callback string) templ.Component {
	return c.withString("prefineryGetUser", callback)
}

func (c Components) withString(name, arg string) templ.Component {
	fn, ok := c.funcs[name].(func(*http.Request, string) (template.HTML, error))
	if !ok {
		return templ.ComponentFunc(func(context.Context, io.Writer) error { return errNotAFunction })
	}
	return render(func(r *http.Request) (template.HTML, error) { return fn(r, arg) })
}

// AddUser is prefineryAddUser: addUser with fields, signed when a user is
// signed in.
func (c Components) AddUser(fields map[string]any) templ.Component {
	fn, ok := c.funcs["prefineryAddUser"].(func(*http.Request, map[string]any) (template.HTML, error))
	if !ok {
		return templ.ComponentFunc(func(context.Context, io.Writer) error { return errNotAFunction })
	}
	return render(func(r *http.Request) (template.HTML, error) { return fn(r, fields) })
}

// Call is prefineryCall: another documented Web API call for the signed-in
// user.
func (c Components) Call(name string, fields map[string]any) templ.Component {
	fn, ok := c.funcs["prefineryCall"].(func(*http.Request, string, map[string]any) (template.HTML, error))
	if !ok {
		return templ.ComponentFunc(func(context.Context, io.Writer) error { return errNotAFunction })
	}
	return render(func(r *http.Request) (template.HTML, error) { return fn(r, name, fields) })
}
