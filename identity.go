package prefinery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/prefinerykit/prefinery/internal/secret"
)

// Kind names which identifier the kit signs. Its values are the parameter
// names of Prefinery's Web API, so an [Identity] marshals to exactly the
// object prefinery('authenticateUser', …) takes.
type Kind string

// The identifier kinds Prefinery's Web API accepts.
const (
	KindEmail        Kind = "email"         // the user's email address (the default)
	KindReferralCode Kind = "referral_code" // the user's Prefinery referral code
	KindID           Kind = "id"            // the user's Prefinery id
)

func (k Kind) valid() bool { return k == KindEmail || k == KindReferralCode || k == KindID }

// Identity is the signed-in user as Prefinery sees them. It is a plain value,
// safe to copy and share.
//
// It marshals to the Web API's object, {"email":"…","signature":"…"}; slog
// shows only its kind, and fmt never shows the signature.
type Identity struct {
	Kind       Kind   // which identifier it is
	Identifier string // byte for byte as signed and as emitted
	Signature  string // lowercase hex HMAC-SHA256 of Identifier under the project secret
}

// Limits on identifiers. 320 bytes covers any email address (RFC 5321 caps a
// usable one at 254); referral codes and ids are far shorter.
const (
	defaultMaxIdentifierLength = 320
	maxIdentifierCeiling       = 4096 // the most Config.MaxIdentifierLength may allow
)

// MarshalJSON encodes the identity as {"<kind>":"<value>","signature":"<signature>"},
// in ASCII only: every other rune, and < > & for HTML, is written as \uXXXX,
// so no page charset can reinterpret it and the JSON decodes to exactly the
// signed string. An unknown kind, an identifier the kit would not sign, or a
// signature that is not 64 lowercase hex characters is refused with an error
// wrapping [ErrInvalidIdentifier]; nothing is emitted then.
func (id Identity) MarshalJSON() ([]byte, error) {
	if err := id.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(id.Kind)+len(id.Identifier)+secret.SignatureLength+24)
	b = append(b, `{"`...)
	b = append(b, id.Kind...)
	b = append(b, `":"`...)
	b = appendASCIIString(b, id.Identifier)
	b = append(b, `","signature":"`...)
	b = append(b, id.Signature...)
	b = append(b, `"}`...)
	return b, nil
}

// check returns the error MarshalJSON gives for an identity it will not emit.
func (id Identity) check() error {
	if !id.Kind.valid() {
		return identifierError(fmt.Sprintf("unknown kind %q", string(id.Kind)))
	}
	if problem := identifierProblem(id.Identifier, maxIdentifierCeiling); problem != "" {
		return identifierError(problem)
	}
	if !secret.IsSignature(id.Signature) {
		return identifierError("the signature is not 64 lowercase hex characters")
	}
	return nil
}

// appendASCIIString appends s as the inside of a JSON string, escaping
// everything but printable ASCII, and the characters HTML gives meaning to.
// Runs of bytes that need no escape are copied whole.
func appendASCIIString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
	}
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; 0x20 <= c && c <= 0x7e && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			b = u(u(b, r1), r2)
		default:
			b = u(b, r)
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// identifierProblem says why the kit cannot sign and emit s faithfully, or
// returns "" when it can. The reason never quotes s (identifiers are personal
// data). Refused: empty; longer than max bytes; invalid UTF-8 (html/template
// and encoding/json would turn it into U+FFFD, so the browser would send
// another string than the one signed); control characters.
func identifierProblem(s string, max int) string {
	switch {
	case s == "":
		return "the identifier is empty"
	case len(s) > max:
		return fmt.Sprintf("the identifier is %d bytes, over the limit of %d", len(s), max)
	case !utf8.ValidString(s):
		return "the identifier is not valid UTF-8"
	}
	for i, r := range s {
		if isControl(r) {
			return fmt.Sprintf("the identifier has a control character at byte %d", i)
		}
	}
	return ""
}

// isControl is unicode.IsControl (C0, DEL and C1: U+0000–U+001F and
// U+007F–U+009F), written out: it runs on every request, and the comparison
// costs half the table lookup.
func isControl(r rune) bool { return r < 0x20 || 0x7f <= r && r < 0xa0 }

// String shows the kind and value; the signature is redacted.
func (id Identity) String() string {
	return fmt.Sprintf("prefinery.Identity{%s: %q, signature: %s}", id.Kind, id.Identifier, redacted)
}

// LogValue makes slog show only the identity's kind: identifiers are personal
// data and signatures are credentials.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(id.Kind)), slog.String("value", redacted))
}

// Identity returns the signed-in user's identity that [Kit.Middleware] (or
// [Kit.WithIdentity]) attached to ctx, signing it on first use, once per
// request (again after a Login in it). ok is false when nobody is signed in,
// the session was logged out, or ctx did not pass through this Kit's
// middleware. It never panics.
func (k *Kit) Identity(ctx context.Context) (id Identity, ok bool) {
	if k == nil {
		reportNilKit("Identity")
		return Identity{}, false
	}
	if ctx == nil {
		return Identity{}, false
	}
	id, ok, _, _ = k.attachedIdentity(ctx)
	return id, ok
}

// attachedIdentity is the identity this Kit attached to ctx (its identity
// cell's, or one planted with WithIdentity): the one place that reads the
// Kit's context key. attached is false when ctx carries neither; err is why
// the cell could not look it up.
func (k *Kit) attachedIdentity(ctx context.Context) (id Identity, ok, attached bool, err error) {
	switch v := ctx.Value(identityKey{k}).(type) {
	case *identityCell:
		id, ok, err = v.identity()
		return id, ok, true, err
	case plantedIdentity:
		return v.id, true, true, nil
	}
	return Identity{}, false, false, nil
}

// WithIdentity returns a copy of ctx carrying id as this Kit's signed-in
// identity, as the middleware would attach it: for tests of handlers and
// templates. id is used as given (its Signature is not recomputed). A nil ctx
// is taken as context.Background().
func (k *Kit) WithIdentity(ctx context.Context, id Identity) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if k == nil {
		reportNilKit("WithIdentity")
		return ctx
	}
	return context.WithValue(ctx, identityKey{k}, plantedIdentity{id})
}

// plantedIdentity is an identity given to WithIdentity. It has no String
// method, so printing the context shows its type, not the identifier.
type plantedIdentity struct{ id Identity }

// templateIdentity is k.Identity for the template functions, given the
// request they were passed (which may be nil). A request that did not pass
// through the middleware is reported once, since every page would look
// signed out.
func (k *Kit) templateIdentity(r *http.Request) (Identity, bool) {
	if r == nil {
		return Identity{}, false
	}
	id, ok, attached, _ := k.attachedIdentity(r.Context())
	if !attached {
		k.diag.report(notThroughKit)
	}
	return id, ok
}
