package prefinery

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prefinerykit/prefinery/internal/snippetfuncs"
)

//go:embed snippet.tmpl
var snippetSource string

// snippets holds the kit's templates, parsed once. html/template escapes every
// value for its context (attribute, URL, script); nothing is concatenated.
var snippets = template.Must(template.New("prefinery").Parse(snippetSource))

// stubJS is the body of Prefinery's queue stub (calls made before the loader
// arrives are queued in prefinery.q), as snippet.tmpl's "stub" renders it.
var stubJS = renderedStub()

// renderedStub executes the "stub" template without a nonce and returns the
// script's text: what stands between the start tag's '>' and "</".
func renderedStub() string {
	var b strings.Builder
	if err := snippets.ExecuteTemplate(&b, "stub", snippetData{}); err != nil {
		panic(err)
	}
	_, js, _ := strings.Cut(b.String(), ">")
	js, _, ok := strings.Cut(js, "</")
	if !ok || js == "" {
		panic("prefinery: snippet.tmpl's stub renders no script text: " + b.String())
	}
	return js
}

// StubCSPSource returns the CSP source expression ('sha256-…') of the
// constant queue stub the kit renders, for apps whose Content-Security-Policy
// allows scripts by hash. The loader and the authenticateUser call still need
// a nonce (Config.Nonce) or a host source for the loader.
func StubCSPSource() string {
	sum := sha256.Sum256([]byte(stubJS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// snippetData is what the templates render.
type snippetData struct {
	Nonce    string
	Src      string
	Identity any // an Identity (a json.Marshaler), or nil when signed out
}

// FuncMap returns the kit's template functions, to add to the app's
// html/template with Funcs before parsing. Each takes the *http.Request being
// served (it carries the identity and the CSP nonce):
//
//   - prefineryEmbed: the queue stub, the loader and, when a user is signed
//     in, the authenticateUser call. The one line for a layout:
//     {{prefineryEmbed .Request}}.
//   - prefineryLoader: the stub and loader only, for single-page apps that
//     fetch the identity from [Kit.IdentityHandler].
//   - prefineryAuthenticate: only the authenticateUser call ("" when signed out).
//   - prefinerySignature, prefineryIdentifier: the signed-in user's signature
//     and identifier ("" when signed out).
//   - prefineryNonce: the request's validated CSP nonce ("" when none), for
//     the app's own <script nonce="…"> elements.
//
// And the Web API calls a page makes, each a whole <script> for the
// signed-in user (nothing when signed out), so no app writes JavaScript
// around template values:
//
//   - prefineryEmbedReferralPage .Request "dom-id": the referral page inside
//     the element with that id.
//   - prefineryPopupReferralPage .Request: the referral page in a popup.
//   - prefineryGetUser .Request "onUser": getUser, answering the global
//     function onUser (or a dotted path such as "app.onUser").
//   - prefineryAddUser .Request (prefineryFields "first_name" .Name …):
//     addUser with the app's fields, signed when a user is signed in.
//   - prefineryCall .Request "triggerRewards" (prefineryFields …): another
//     documented call that takes the identity.
//   - prefineryFields "k1" v1 "k2" v2 …: the extra fields, as a map.
//
// Field values are encoded as JSON with every non-ASCII character escaped,
// like the identity.
//
// html/template escapes these values for their context. text/template accepts
// the same map but escapes nothing: use it only with html/template.
func (k *Kit) FuncMap() template.FuncMap {
	if k == nil {
		return nilKitFuncMap()
	}
	f := k.funcs()
	return template.FuncMap{
		"prefineryEmbed":        f.Embed,
		"prefineryLoader":       f.Loader,
		"prefineryAuthenticate": f.Authenticate,
		"prefinerySignature":    k.signature,
		"prefineryIdentifier":   k.identifierOf,
		"prefineryNonce":        k.validNonce,

		"prefineryEmbedReferralPage": f.EmbedReferralPage,
		"prefineryPopupReferralPage": f.PopupReferralPage,
		"prefineryGetUser":           f.GetUser,
		"prefineryAddUser":           f.AddUser,
		"prefineryCall":              f.Call,
		"prefineryFields":            fieldsOf,
	}
}

func init() {
	snippetfuncs.Of = func(v any) snippetfuncs.Funcs {
		if k, ok := v.(*Kit); ok && k != nil {
			return k.funcs()
		}
		return snippetfuncs.Funcs{}
	}
}

// funcs are the template functions that render scripts, typed: FuncMap
// names them, and prefinerytempl reaches them through snippetfuncs.Of.
func (k *Kit) funcs() snippetfuncs.Funcs {
	return snippetfuncs.Funcs{
		Embed: k.embed, Loader: k.loaderOnly, Authenticate: k.authenticate, PopupReferralPage: k.popupReferralPage,
		EmbedReferralPage: k.embedReferralPage, GetUser: k.getUser, AddUser: k.addUser, Call: k.call,
	}
}

// embed renders the queue stub, the loader and, when a user is signed in, the
// authenticateUser call, every <script> with the CSP nonce. It tells
// AutoInsert that the snippet is on the page.
func (k *Kit) embed(r *http.Request) (template.HTML, error) {
	if k.cfg.WidgetURL == "" {
		return "", errNoLoader
	}
	markRendered(r)
	return k.render(r, embedTemplate)
}

// loaderOnly renders the stub and the loader, never the authenticateUser call.
func (k *Kit) loaderOnly(r *http.Request) (template.HTML, error) {
	if k.cfg.WidgetURL == "" {
		return "", errNoLoader
	}
	markRendered(r)
	return k.render(r, loaderTemplate)
}

// authenticate renders only the authenticateUser call, "" when signed out.
func (k *Kit) authenticate(r *http.Request) (template.HTML, error) {
	return k.render(r, authenticateTemplate)
}

// render fills the compiled template t for r (see compiled.go). It returns
// "" when the template needs a signed-in user and there is none.
func (k *Kit) render(r *http.Request, t int) (template.HTML, error) {
	var identity []byte
	if t != loaderTemplate {
		if id, ok := k.templateIdentity(r); ok {
			b, err := id.MarshalJSON()
			if err != nil { // only for identities planted with WithIdentity
				k.cfg.Logger.Error("prefinery: the identity cannot be rendered", slog.String("kind", string(id.Kind)), slog.Any("error", err))
				return "", err
			}
			identity = b
		} else if t == authenticateTemplate {
			return "", nil
		}
	}
	nonce := k.validNonce(r)
	skel := &k.snippets[t][b2i(nonce != "")][b2i(identity != nil)]
	return skel.render(nonce, k.pageOrigin(r), identity, nil), nil
}

// fieldsOf builds a field map from name, value pairs.
func fieldsOf(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("prefinery: prefineryFields takes name, value pairs")
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		name, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("prefinery: prefineryFields: field name %v is not a string", pairs[i])
		}
		m[name] = pairs[i+1]
	}
	return m, nil
}

// signature returns r's signed-in user's signature, or "".
func (k *Kit) signature(r *http.Request) string {
	id, _ := k.templateIdentity(r)
	return id.Signature
}

// identifierOf returns r's signed-in user's identifier, or "".
func (k *Kit) identifierOf(r *http.Request) string {
	id, _ := k.templateIdentity(r)
	return id.Identifier
}
