package prefinery

import "errors"

// Sentinel errors, for [errors.Is]. The kit's errors wrap one of these and add
// the reason; none contains a secret, a signature or an identifier.
var (
	// ErrInvalidSecret is wrapped when a secret is missing, too short or
	// padded with whitespace.
	ErrInvalidSecret = errors.New("prefinery: invalid secret")

	// ErrInvalidConfig is wrapped when a Config cannot work ([New], or
	// Login/Logout on a Kit without Sessions); the message names the field.
	ErrInvalidConfig = errors.New("prefinery: invalid Config")

	// ErrInvalidIdentifier is wrapped when an identifier (or a planted
	// identity) cannot be signed and emitted faithfully: empty, too long,
	// invalid UTF-8 or a control character.
	ErrInvalidIdentifier = errors.New("prefinery: invalid identifier")

	// ErrNoSession is wrapped when a request's context carries no scs
	// session: the handler is not behind SessionManager.LoadAndSave.
	ErrNoSession = errors.New("prefinery: no scs session in the request context (put kit.Middleware inside sessions.LoadAndSave)")
)
