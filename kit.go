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

// Kit is a configured kit for one Prefinery project: the middleware, the
// identity endpoint, the template functions and the session helpers hang off
// it. Create it once with [New] and share it; it is safe for concurrent use
// and keeps no per-user state, so any number of app instances agree.
type Kit struct {
	secret atomic.Pointer[Secret] // swapped whole by Rotate

	kind              Kind
	sessions          *scs.SessionManager
	sessionKey        string
	user              func(*http.Request) (string, bool)
	maxLen            int
	nonce             func(*http.Request) string
	cacheControl      string
	keepCacheOnLogout bool
	allowSameSite     bool
	loaderURL         string
	loaderOrigin      string              // the loader\'s CSP source
	widgetSources     map[string][]string // added to pages\' CSP, by directive
	autoInsert        bool
	skip              func(*http.Request) bool
	log               *slog.Logger
	skeletons         *skeletonSet  // the snippets, compiled for this Kit's loader
	calls             callSkeletons // the Web API calls, compiled

	cspMu    sync.Mutex
	cspCache map[string]string // amended CSP header values, by the app's value

	onSign        func()    // test hook counting signatures; nil in production
	misconfigured sync.Once // logs a missing LoadAndSave once, not per request
	lateRead      sync.Once // logs an identity read after an unprotected header once
	lateCSP       sync.Once // logs a CSP set after the kit's scripts were rendered once
	unwired       sync.Once // logs a helper used without the middleware once
	notString     sync.Once // logs a non-string session value once
	noNonce       sync.Once // logs Config.Nonce giving nothing under a CSP once
	metaCSP       sync.Once // logs a CSP in a <meta> tag once
}

// New validates cfg and returns a ready Kit. Every problem is reported here,
// as an error wrapping [ErrInvalidConfig] that names the field.
func New(cfg Config) (*Kit, error) {
	if cfg.Secret.isZero() {
		secret, err := SecretFromEnv(defaultSecretEnv)
		if err != nil {
			return nil, fmt.Errorf("%w: Secret: none given, and %w", ErrInvalidConfig, err)
		}
		cfg.Secret = secret
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	k := &Kit{
		kind:              cmp.Or(cfg.Kind, Email),
		sessions:          cfg.Sessions,
		sessionKey:        cmp.Or(cfg.SessionKey, defaultSessionKey),
		user:              cfg.User,
		maxLen:            cmp.Or(cfg.MaxIdentifierLength, defaultMaxIdentifierLength),
		nonce:             cfg.Nonce,
		cacheControl:      cmp.Or(cfg.CacheControl, defaultCacheControl),
		keepCacheOnLogout: cfg.KeepCacheOnLogout,
		allowSameSite:     cfg.UnsafeAllowSameSite,
		loaderURL:         cfg.WidgetURL,
		autoInsert:        cfg.AutoInsert,
		skip:              cfg.Skip,
		log:               cmp.Or(cfg.ErrorLog, slog.Default()),
	}
	if k.loaderURL == "" && cfg.ProjectKey != "" {
		k.loaderURL = prefineryWidgetBase + cfg.ProjectKey + ".js"
	}
	k.cspCache = map[string]string{}
	k.loaderOrigin = loaderOrigin(k.loaderURL)
	k.widgetSources = cfg.WidgetSources
	if k.widgetSources == nil {
		k.widgetSources = defaultWidgetSources(k.loaderOrigin)
	}
	skeletons, err := compileSkeletons(k.loaderURL)
	if err != nil {
		return nil, err
	}
	k.skeletons = skeletons
	if k.calls, err = compileCalls(); err != nil {
		return nil, err
	}
	secret := cfg.Secret
	k.secret.Store(&secret)
	return k, nil
}

// Rotate switches the Kit to a new secret without a restart. A request signs
// with the secret current at its first read of the identity and keeps that
// signature, so everything rendered for one request agrees. A zero Secret is
// refused with an error wrapping [ErrInvalidSecret]. Signatures already handed
// out stay valid in Prefinery until the secret is regenerated there.
func (k *Kit) Rotate(secret Secret) error {
	if secret.isZero() {
		return fmt.Errorf("%w: Rotate needs a secret from NewSecret, SecretFromEnv or SecretFromFile", ErrInvalidSecret)
	}
	k.secret.Store(&secret)
	return nil
}

// Sign returns the signature of identifier (64 lowercase hex characters)
// under the current secret, for code outside a request: a mailer, a job.
// Sign only identifiers the server knows belong to the user being served.
// The secret remembers its last signatures, so signing an identifier again
// soon costs a lookup, not an HMAC.
func (k *Kit) Sign(identifier string) string {
	if k.onSign != nil {
		k.onSign()
	}
	return k.secret.Load().key.Sign(identifier)
}
