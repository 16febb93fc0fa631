package prefinery

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/alexedwards/scs/v2"
)

// Kit is the configured identity-verification kit: the middleware, the
// identity endpoint, the template helpers and the session helpers all hang off
// it. Create one with [New] at start-up and share it: every method is safe for
// concurrent use, and the Kit keeps no per-user state (signatures are a pure
// function of the secret and the identifier), so any number of app instances
// agree. It prints as redacted, like [Config]. Only a Kit from New is usable;
// the zero value is not.
type Kit struct {
	signer atomic.Pointer[Signer] // swapped whole by Rotate

	kind          Kind
	sessions      *scs.SessionManager
	sessionKey    string
	user          func(*http.Request) (string, bool)
	maxLen        int
	nonce         func(*http.Request) string
	cacheControl  []string // shared, never mutated: assigned into headers without allocating
	allowSameSite bool
	loaderURL     string
	autoInsert    bool
	skip          func(*http.Request) bool
	log           *slog.Logger
	skeletons     *skeletonSet // the snippets, compiled for this Kit's loader

	onSign        func()    // test hook counting HMACs; nil in production
	misconfigured sync.Once // logs a missing LoadAndSave once, not per request
}

// New validates cfg and returns a ready Kit. Every problem is reported here,
// as an error wrapping [ErrInvalidConfig] (or [ErrInvalidSecret]) that names
// the field and never contains the secret.
func New(cfg Config) (*Kit, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	k := &Kit{
		kind:          cmp.Or(cfg.Kind, Email),
		sessions:      cfg.Sessions,
		sessionKey:    cmp.Or(cfg.SessionKey, DefaultSessionKey),
		user:          cfg.User,
		maxLen:        cfg.MaxIdentifierLength,
		nonce:         cfg.Nonce,
		cacheControl:  []string{cmp.Or(cfg.CacheControl, DefaultCacheControl)},
		allowSameSite: cfg.UnsafeAllowSameSite,
		loaderURL:     cfg.WidgetURL,
		autoInsert:    cfg.AutoInsert,
		skip:          cfg.Skip,
		log:           cfg.ErrorLog,
	}
	if k.maxLen == 0 {
		k.maxLen = DefaultMaxIdentifierLength
	}
	if k.loaderURL == "" && cfg.ProjectKey != "" {
		k.loaderURL = prefineryWidgetBase + cfg.ProjectKey + ".js"
	}
	if k.log == nil {
		k.log = slog.Default()
	}
	skeletons, err := compileSkeletons(k.loaderURL)
	if err != nil {
		return nil, err
	}
	k.skeletons = skeletons
	k.signer.Store(newSigner(cfg.Secret))
	return k, nil
}

// Rotate switches the Kit to a new secret without a restart, atomically: a
// request signs with the secret current when its identity is first read and
// keeps that signature for the rest of the request, so no signature ever mixes
// the two and everything rendered for one request agrees. It
// returns an error wrapping [ErrInvalidSecret] (and keeps the old secret) when
// the new one is unusable. Remember that signatures already handed out stay
// valid in Prefinery until the secret is regenerated there.
func (k *Kit) Rotate(secret string) error {
	s, err := NewSigner(secret)
	if err != nil {
		return err
	}
	k.signer.Store(s)
	return nil
}

// Kind returns the identifier kind the Kit signs.
func (k *Kit) Kind() Kind { return k.kind }

// Sign returns the signature of identifier under the Kit's current secret,
// for code that needs one outside a request (a mailer, a background job).
// Only sign identifiers the server knows belong to the user being served.
func (k *Kit) Sign(identifier string) string { return k.signer.Load().Sign(identifier) }

// Verify reports whether signature is identifier's signature under the Kit's
// current secret, in constant time.
func (k *Kit) Verify(identifier, signature string) bool {
	return k.signer.Load().Verify(identifier, signature)
}

// Middleware attaches the signed-in user's identity to the request context,
// where [FromContext], [FromRequest], the template helpers and the identity
// endpoint find it. It has the plain func(http.Handler) http.Handler shape, so
// it chains with alice, chi, gorilla/mux or by hand, after the scs
// SessionManager's LoadAndSave.
//
// The identifier comes only from the session (or Config.User), never from
// anything the client sent. The signature is computed lazily, at most once per
// request, the first time the identity is read; a request with nobody signed
// in gets no identity and pays only for the lookup. Responses to signed-in
// users get Config.CacheControl ("private") when their header is written,
// unless they already say private or no-store, even if the handler set a
// public Cache-Control. With Config.AutoInsert, the embed snippet is also
// inserted into HTML responses (see [Kit.AutoInsert]).
func (k *Kit) Middleware(next http.Handler) http.Handler {
	if k.autoInsert {
		next = k.AutoInsert(next)
	}
	return &identityMiddleware{kit: k, next: next}
}

// identityMiddleware is the handler Middleware returns. It is a named type,
// not a closure, so that its ServeHTTP is compiled once in this package with
// http.Request.WithContext inlined (see requestWithIdentity).
type identityMiddleware struct {
	kit  *Kit
	next http.Handler
}

func (m *identityMiddleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := m.kit
	identifier, err := k.identifier(r)
	if err != nil || identifier == "" {
		m.next.ServeHTTP(w, r)
		return
	}
	m.next.ServeHTTP(k.attach(w, r, identifier))
}

// markPrivate keeps shared caches from storing a response that may carry a
// signature, without weakening a stricter directive the app already set.
func (k *Kit) markPrivate(h http.Header) {
	for _, cc := range h["Cache-Control"] {
		if hasDirective(cc, "private") || hasDirective(cc, "no-store") {
			return
		}
	}
	h["Cache-Control"] = k.cacheControl
}

// identifier returns the signed-in user's identifier, "" when nobody is signed
// in or the identifier was refused (logged, without its value), and an error
// wrapping ErrNoSession when the kit is misconfigured.
func (k *Kit) identifier(r *http.Request) (string, error) {
	var v string
	if k.user != nil {
		var ok bool
		if v, ok = k.user(r); !ok {
			return "", nil
		}
	} else {
		var err error
		if v, err = k.sessionIdentifier(r.Context()); err != nil {
			k.misconfigured.Do(func() {
				k.log.Error("prefinery: no scs session in the request context; every request looks signed out until the kit is mounted behind SessionManager.LoadAndSave")
			})
			return "", err
		}
	}
	if v == "" {
		return "", nil
	}
	if reason := identifierProblem(v, k.maxLen); reason != "" {
		k.log.Warn("prefinery: identifier refused; the user is treated as signed out for Prefinery",
			slog.String("kind", string(k.kind)), slog.String("reason", reason))
		return "", nil
	}
	return v, nil
}

// identity returns the request's identity: the one the middleware attached, or
// else a fresh lookup (for handlers mounted without the middleware).
func (k *Kit) identity(r *http.Request) (Identity, bool, error) {
	if id, ok := FromRequest(r); ok {
		return id, true, nil
	}
	v, err := k.identifier(r)
	if err != nil || v == "" {
		return Identity{}, false, err
	}
	return Identity{Kind: k.kind, Value: v, Signature: k.sign(v)}, true, nil
}

// sign signs identifier with the current secret: the one place the kit's own
// request paths compute an HMAC (the test hook counts them).
func (k *Kit) sign(identifier string) string {
	if k.onSign != nil {
		k.onSign()
	}
	return k.signer.Load().Sign(identifier)
}

func (k *Kit) describe() string {
	return fmt.Sprintf("prefinery.Kit{Secret: %s, Kind: %s}", redacted, k.kind)
}

// String returns a description of the Kit with the secret redacted.
func (k *Kit) String() string { return k.describe() }

// GoString returns the same redacted description, for %#v.
func (k *Kit) GoString() string { return k.describe() }

// Format prints the redacted description under every fmt verb.
func (k *Kit) Format(f fmt.State, verb rune) { formatRedacted(f, verb, k.describe()) }

// LogValue makes slog print the Kit redacted.
func (k *Kit) LogValue() slog.Value { return slog.StringValue(k.describe()) }

// MarshalJSON encodes the redacted description as a JSON string.
func (k *Kit) MarshalJSON() ([]byte, error) { return []byte(`"` + k.describe() + `"`), nil }

// MarshalText encodes the redacted description.
func (k *Kit) MarshalText() ([]byte, error) { return []byte(k.describe()), nil }
