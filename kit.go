package prefinery

import (
	"sync/atomic"
	"testing"

	"github.com/prefinerykit/prefinery/internal/csp"
)

// Kit is a configured kit for one Prefinery project: the middleware, the
// identity endpoint, the template functions and the session helpers hang off
// it. Create it once with [New] and share it; it is safe for concurrent use
// and keeps no per-user state, so any number of app instances agree.
//
// A nil *Kit (New's error dropped, or a test fixture built without it) never
// panics, and never lets a request through unprotected: Login, Logout and
// Rotate return an error wrapping [ErrInvalidConfig]; Identity answers
// (Identity{}, false), Sign "", WithIdentity its ctx unchanged; the template
// functions stop the template with that error; Middleware and
// IdentityHandler answer every request 500 with a JSON error body. Each
// method logs the mistake once, through slog.Default.
type Kit struct {
	cfg      Config                 // validated, defaults filled in; never changed after New
	secret   atomic.Pointer[Secret] // swapped whole by Rotate
	snippets *skeletonSet           // the snippets, compiled for cfg.WidgetURL
	csp      *csp.Merger            // adds the kit's sources to pages' policies (used without Config.Nonce)
	origin   string                 // the loader's CSP source when its URL is absolute (derived once)
	diag     diagnostics            // wiring messages, each logged once
}

// New validates cfg and returns a ready Kit. Every problem is reported here,
// as an error wrapping [ErrInvalidConfig] that names the field.
//
// In a test binary (built by go test), a Config that names no secret while
// PREFINERY_IDENTITY_SECRET is unset gets the public test secret of package
// prefinerytest, and one that names no loader (neither ProjectKey, WidgetURL
// nor EndpointOnly) while PREFINERY_PROJECT_KEY is unset gets the offline
// stand-in's (standin.WidgetURL): code that builds the app's Kit runs in the
// app's tests as it is. A variable that is set, even to "", is read as
// always; any other binary reads the environment alone.
func New(cfg Config) (*Kit, error) {
	cfg, err := cfg.normalized(inTestBinary())
	if err != nil {
		return nil, err
	}
	snippets, err := compileSkeletons(cfg.WidgetURL)
	if err != nil {
		return nil, err
	}
	k := &Kit{cfg: cfg, snippets: snippets, diag: diagnostics{log: cfg.Logger, ownUsers: cfg.Sessions == nil}}
	k.csp = csp.NewMerger(cfg.WidgetSources)
	k.origin = loaderOrigin(cfg.WidgetURL)
	secret := cfg.Secret
	k.cfg.Secret = Secret{} // the current secret lives in k.secret alone
	k.secret.Store(&secret)
	return k, nil
}

// inTestBinary reports whether the program was built by go test; the
// package's own tests switch it off, so that they see what any other binary
// sees.
var inTestBinary = testing.Testing

// MustNew is [New] for code that has no error to return, such as a routes
// function or a service container's constructor, that runs in main and in
// the app's tests alike: it panics with New's error, so a misconfigured app
// stops at startup, naming the field or the variable.
func MustNew(cfg Config) *Kit {
	k, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return k
}

// Rotate switches the Kit to a new secret without a restart. A request signs
// with the secret current at its first read of the identity and keeps that
// signature, so everything rendered for one request agrees. A zero Secret is
// refused with an error wrapping [ErrInvalidSecret]. Signatures already handed
// out stay valid in Prefinery until the secret is regenerated there.
func (k *Kit) Rotate(secret Secret) error {
	if k == nil {
		return nilKitError("Rotate")
	}
	if secret.isZero() {
		return secretError("Rotate needs a secret from NewSecret, SecretFromEnv or SecretFromFile")
	}
	k.secret.Store(&secret)
	return nil
}

// Sign returns the signature of identifier (64 lowercase hex characters)
// under the current secret, for code outside a request: a mailer, a job.
// Sign only identifiers the server knows belong to the user being served.
func (k *Kit) Sign(identifier string) string {
	if k == nil {
		reportNilKit("Sign")
		return ""
	}
	return k.secret.Load().key.Sign(identifier)
}
