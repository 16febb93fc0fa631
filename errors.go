package prefinery

import "errors"

// Sentinel errors, for use with [errors.Is]. The kit's errors wrap one of these
// and add the reason; none of them ever contains the secret, a signature or an
// identifier.
var (
	// ErrInvalidSecret is wrapped by [NewSigner], [New] and [Kit.Rotate] when the
	// secret is empty, only whitespace or too short.
	ErrInvalidSecret = errors.New("prefinery: invalid Identity Verification Secret")

	// ErrInvalidConfig is wrapped by [New] when a Config field is unusable.
	ErrInvalidConfig = errors.New("prefinery: invalid Config")

	// ErrInvalidIdentifier is wrapped when an identifier cannot be signed and
	// emitted faithfully: empty, too long, invalid UTF-8 or a control character.
	ErrInvalidIdentifier = errors.New("prefinery: invalid identifier")

	// ErrNoSession is wrapped when a request's context carries no scs session:
	// the handler is not behind the SessionManager's LoadAndSave middleware.
	ErrNoSession = errors.New("prefinery: no scs session in the request context (wrap the handler in SessionManager.LoadAndSave)")

	// ErrNoLoader is returned by [Kit.Embed], [Kit.Loader] and their template
	// functions when the Kit has neither Config.ProjectKey nor Config.WidgetURL.
	ErrNoLoader = errors.New("prefinery: the embed snippet needs Config.ProjectKey (or Config.WidgetURL) for its loader script")

	// ErrNoSessionManager is returned by [Kit.Login] and [Kit.Logout] when the
	// Kit was configured with Config.User instead of Config.Sessions.
	ErrNoSessionManager = errors.New("prefinery: Login and Logout need Config.Sessions (with Config.User the app signs users in itself)")
)
