package prefinery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
)

// Kind names which identifier the kit signs. Its values are the parameter
// names of Prefinery's Web API, so an [Identity] marshals to exactly the object
// that prefinery('authenticateUser', …) takes. A Kind is a plain string value,
// safe for concurrent use.
type Kind string

// The identifier kinds Prefinery's Web API accepts.
const (
	Email        Kind = "email"         // the user's email address (the default)
	ReferralCode Kind = "referral_code" // the user's Prefinery referral code
	ID           Kind = "id"            // the user's Prefinery id
)

// valid reports whether k is one of the Web API's kinds.
func (k Kind) valid() bool { return k == Email || k == ReferralCode || k == ID }

// Identity is the signed-in user as Prefinery sees them: which kind of
// identifier, its value, and its signature. It is a plain value, safe to copy
// and to share between goroutines.
//
// Identity marshals to JSON as the object Prefinery's Web API takes, keyed by
// its kind: {"email":"…","signature":"…"}. In logs (slog) it shows only its
// kind; fmt's verbs show the kind and value but never the signature.
type Identity struct {
	Kind      Kind   // which identifier Value is
	Value     string // the identifier, byte for byte as signed and as emitted
	Signature string // lowercase hex HMAC-SHA256 of Value under the project secret
}

// MarshalJSON encodes the identity as {"<kind>":"<value>","signature":"<signature>"}
// with HTML-safe escaping. It refuses (returns an error wrapping
// [ErrInvalidIdentifier]) an identity whose kind is unknown or whose value could
// not be emitted faithfully, rather than emit a value that differs from the one
// signed.
func (id Identity) MarshalJSON() ([]byte, error) {
	if !id.Kind.valid() {
		return nil, fmt.Errorf("%w: unknown kind %q", ErrInvalidIdentifier, string(id.Kind))
	}
	if reason := identifierProblem(id.Value, maxIdentifierCeiling); reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalidIdentifier, reason)
	}
	value, err := json.Marshal(id.Value)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(id.Kind)+len(value)+len(id.Signature)+20)
	b = append(b, `{"`...)
	b = append(b, id.Kind...)
	b = append(b, `":`...)
	b = append(b, value...)
	b = append(b, `,"signature":"`...)
	b = append(b, id.Signature...) // hex: nothing to escape
	b = append(b, `"}`...)
	return b, nil
}

// String shows the kind and value; the signature is redacted.
func (id Identity) String() string {
	return fmt.Sprintf("prefinery.Identity{%s: %q, signature: %s}", id.Kind, id.Value, redacted)
}

// LogValue makes slog show only the identity's kind: identifiers are personal
// data and signatures are credentials.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(id.Kind)), slog.String("value", redacted))
}

// identityKey is the context key of the signed-in identity.
type identityKey struct{}

// fixedIdentity is the context WithIdentity returns: the parent plus an
// identity given up front.
type fixedIdentity struct {
	context.Context
	id Identity
}

// Value returns the identity for identityKey and defers to the parent context
// for every other key.
func (c *fixedIdentity) Value(key any) any {
	if _, ok := key.(identityKey); ok {
		return &c.id
	}
	return c.Context.Value(key)
}

// String describes the context without revealing the identity.
func (c *fixedIdentity) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(prefinery.Identity)"
}

// FromContext returns the signed-in user's identity attached by
// [Kit.Middleware] (or [WithIdentity]), computing its signature on first use.
// ok is false when nobody is signed in, when the identifier was refused, or
// when ctx never went through the middleware. It never panics and is safe to
// call from any goroutine holding ctx.
func FromContext(ctx context.Context) (id Identity, ok bool) {
	if ctx == nil {
		return Identity{}, false
	}
	switch v := ctx.Value(identityKey{}).(type) {
	case *identityContext:
		return v.identity(), true
	case *Identity:
		return *v, true
	}
	return Identity{}, false
}

// FromRequest is FromContext(r.Context()); it returns ok false for a nil request.
func FromRequest(r *http.Request) (Identity, bool) {
	if r == nil {
		return Identity{}, false
	}
	return FromContext(r.Context())
}

// WithIdentity returns a copy of ctx carrying id as the signed-in identity, as
// [Kit.Middleware] would attach it. It is meant for tests of handlers and
// templates; id is used as given (its Signature is not recomputed). A nil ctx
// is taken as context.Background().
func WithIdentity(ctx context.Context, id Identity) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return &fixedIdentity{Context: ctx, id: id}
}
