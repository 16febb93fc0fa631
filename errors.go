package prefinery

import (
	"errors"
	"fmt"

	"github.com/prefinerykit/prefinery/internal/errs"
)

// Sentinel errors, for [errors.Is]. Each states a fact; the kit's errors wrap
// one of these and add the reason and the fix for the app's wiring. None
// contains a secret, a signature or an identifier.
var (
	// ErrInvalidSecret is wrapped when a secret is missing, too short or
	// padded with whitespace, or a zero Secret is used.
	ErrInvalidSecret = errors.New("prefinery: invalid secret")

	// ErrInvalidConfig is wrapped when a Config cannot work ([New]; the
	// message names the field), and by every error of a nil *Kit.
	ErrInvalidConfig = errors.New("prefinery: invalid Config")

	// ErrInvalidIdentifier is wrapped when an identifier (or a planted
	// identity) cannot be signed and emitted faithfully: empty, too long,
	// invalid UTF-8 or a control character.
	ErrInvalidIdentifier = errors.New("prefinery: invalid identifier")

	// ErrNoSession is wrapped when the kit cannot reach the request's
	// session: with Config.Sessions, the handler is not behind the
	// SessionManager's LoadAndSave; without it, Login or Logout ran on a
	// request that did not pass through kit.Middleware. The wrapping message
	// says which, and the fix.
	ErrNoSession = errors.New("prefinery: no session in the request context")
)

// The kit's other errors, each wrapping a sentinel above.
var (
	errNotInLoadAndSave = errs.New("no scs session in the request context: put kit.Middleware (and every route that calls Login or Logout) inside sessions.LoadAndSave", ErrNoSession)
	errNoLoader         = configError("ProjectKey", "the embed snippet needs Config.ProjectKey (or Config.WidgetURL) for its loader script")
)

// configError is a Config problem: "prefinery: invalid Config: <field>:
// <reason>", matching ErrInvalidConfig and each of causes.
func configError(field, reason string, causes ...error) error {
	return errs.New("invalid Config: "+field+": "+reason, append([]error{ErrInvalidConfig}, causes...)...)
}

// secretError is a secret the kit refuses: "prefinery: invalid secret:
// <reason>", matching ErrInvalidSecret.
func secretError(format string, args ...any) error {
	return errs.New("invalid secret: "+fmt.Sprintf(format, args...), ErrInvalidSecret)
}

// identifierError is an identifier the kit will not sign or emit.
func identifierError(reason string) error {
	return errs.New("invalid identifier: "+reason, ErrInvalidIdentifier)
}
