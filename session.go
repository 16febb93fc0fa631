package prefinery

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prefinerykit/prefinery/internal/errs"
	"github.com/prefinerykit/prefinery/internal/respond"
)

// scsNoSessionPanic is the prefix of the panic scs raises when a context
// carries no session data (the handler is not behind LoadAndSave).
const scsNoSessionPanic = "scs: no session data in context"

// withSession runs fn, turning scs's "no session data" panic into
// errNotInLoadAndSave.
// Any other panic is not the kit's to hide and is re-raised.
func withSession(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if !isNoSessionPanic(p) {
				panic(p)
			}
			err = errNotInLoadAndSave
		}
	}()
	return fn()
}

// isNoSessionPanic reports whether p is scs's "no session data" panic.
func isNoSessionPanic(p any) bool {
	s, ok := p.(string)
	return ok && strings.HasPrefix(s, scsNoSessionPanic)
}

// sessionIdentifier reads the identifier under the Kit's session key. A
// missing, empty or non-string value means nobody is signed in.
func (k *Kit) sessionIdentifier(ctx context.Context) (v string, err error) {
	var raw any
	err = withSession(func() error {
		raw = k.cfg.Sessions.Get(ctx, k.cfg.SessionKey)
		return nil
	})
	v, ok := raw.(string)
	if raw != nil && !ok {
		k.diag.report(sessionValueNotText, slog.String("session_key", k.cfg.SessionKey), slog.String("type", fmt.Sprintf("%T", raw)))
	}
	return v, err
}

// Login makes identifier the signed-in user of the request whose context is
// ctx, for the rest of it: templates rendered after it and the identity
// endpoint sign identifier. Call it only with an identifier verified as the
// user's (an email address they confirmed): the kit signs it for Prefinery as
// theirs. Pass it from the app's user record, exactly as Prefinery has it, not
// the address as typed into a form. What else it does depends on where the
// user lives:
//
//   - Neither Config.Sessions nor Config.User: the app names each request's
//     user by calling Login from its auth middleware, on every request,
//     inside kit.Middleware. Login stores nothing; only on a sign-in (a user
//     the kit's prefinery_user cookie does not name yet) does it set that
//     cookie, a keyed tag of the user without personal data.
//   - Config.User: the app keeps who is signed in; Login stores nothing. Call
//     it right after the app's own sign-in, so the rest of that request shows
//     the user.
//   - Config.Sessions: Login is the sign-in. It stores identifier in the
//     request's scs session (ctx inside LoadAndSave), so later requests are
//     signed in too, after renewing the session token (against session
//     fixation).
//
// It returns an error wrapping [ErrInvalidIdentifier] for an identifier the
// kit would refuse to sign, [ErrNoSession] outside LoadAndSave (without
// Config.Sessions, outside kit.Middleware), the session store's error, or
// on a nil *Kit [ErrInvalidConfig]; on error nothing changes.
func (k *Kit) Login(ctx context.Context, identifier string) error {
	if k == nil {
		return nilKitError("Login")
	}
	if problem := identifierProblem(identifier, k.cfg.MaxIdentifierLength); problem != "" {
		return identifierError(problem)
	}
	if k.cfg.Sessions == nil {
		return k.setOwnUser(ctx, "Login", identifier)
	}
	if err := k.checkOrder(ctx, "Login"); err != nil {
		return err
	}
	return withSession(func() error {
		if err := k.replaceToken(ctx); err != nil {
			return fmt.Errorf("prefinery: login: %w", err)
		}
		k.cfg.Sessions.Put(ctx, k.cfg.SessionKey, identifier)
		k.setRequestIdentifier(ctx, identifier)
		return nil
	})
}

// Logout removes the signed-in user's identifier from the request's scs
// session, and from the rest of the request, and renews the session token;
// other session data is kept. Its response carries Clear-Site-Data: "cache"
// (unless Config.KeepCacheOnLogout), so the browser forgets the pages it kept
// and Back shows no signature. With Config.User (the app signs users out
// itself), Logout does what is the kit's: nobody is signed in for the rest of
// the request, and the response carries Clear-Site-Data. Its errors are
// those of [Kit.Login].
// Prefinery has no de-authentication call: pages rendered after Logout simply
// stop emitting authenticateUser.
func (k *Kit) Logout(ctx context.Context) error {
	if k == nil {
		return nilKitError("Logout")
	}
	if k.cfg.Sessions == nil {
		return k.setOwnUser(ctx, "Logout", "")
	}
	if err := k.checkOrder(ctx, "Logout"); err != nil {
		return err
	}
	return withSession(func() error {
		if k.cfg.Sessions.Token(ctx) != "" { // a session that was never saved has nothing to replace
			if err := k.replaceToken(ctx); err != nil {
				return fmt.Errorf("prefinery: logout: %w", err)
			}
		}
		k.cfg.Sessions.Remove(ctx, k.cfg.SessionKey)
		k.setRequestIdentifier(ctx, "")
		return nil
	})
}

// setOwnUser is Login and Logout for a Kit without Sessions: they change
// the request's identity (and Logout's response) and store nothing.
func (k *Kit) setOwnUser(ctx context.Context, op, identifier string) error {
	if k.cellOf(ctx) == nil {
		k.diag.report(notThroughKit) // logged too: an app may not check this error
		return errs.New(op+" ran on a request that did not pass through kit.Middleware: without Config.Sessions it names the user of the request it is given; wrap the routes in kit.Middleware and call "+op+" inside it (from the app's auth middleware, or its logout handler; in gin, prefinerygin.Login after prefinerygin.Wrap(kit.Middleware))", ErrNoSession)
	}
	k.setRequestIdentifier(ctx, identifier)
	return nil
}

// checkOrder returns an error when the kit's middleware runs outside
// LoadAndSave: the identity cell then reads a context without the session,
// so a Login or Logout would not be seen by this request's identity.
func (k *Kit) checkOrder(ctx context.Context, op string) error {
	c := k.cellOf(ctx)
	if c == nil {
		return nil
	}
	if err := withSession(func() error { k.cfg.Sessions.Token(c.req.Context()); return nil }); err != nil {
		return errs.New(op+": kit.Middleware runs outside sessions.LoadAndSave, so this request would not see the change; chain them as sessions.LoadAndSave(kit.Middleware(mux)) or alice.New(sessions.LoadAndSave, kit.Middleware)", ErrNoSession)
	}
	return nil
}

// setRequestIdentifier makes Login or Logout apply to the rest of the
// request whose context is ctx (nothing outside the middleware). Logout's
// response carries Clear-Site-Data: "cache" unless Config.KeepCacheOnLogout
// (once the header went out, setting it changes nothing), and without
// Sessions the kit's user cookie (userCookieName) changes.
func (k *Kit) setRequestIdentifier(ctx context.Context, identifier string) {
	c := k.cellOf(ctx)
	if c == nil {
		return
	}
	perRequest := k.cfg.Sessions == nil && k.cfg.User == nil
	signChange := !perRequest || identifier == ""
	if identifier != "" && perRequest {
		// Login names the request's user on every request: a sign-in is a
		// user the browser's cookie does not name yet.
		if tag := k.userTag(identifier); cookieValue(c.req, userCookieName) != tag && !c.signChanged() {
			signChange = true
			c.header.Add("Set-Cookie", userCookie(c.req, tag))
		}
	}
	c.set(identifier, signChange)
	if identifier != "" {
		// The middleware kept a revalidation it found nobody signed in for
		// (an auth middleware names the user after it): drop it now, in the
		// header the handlers after it share, so none answers 304.
		if revalidationDroppable(c.req.Header) {
			deleteRevalidation(c.req.Header)
		}
		return
	}
	if !k.cfg.KeepCacheOnLogout {
		c.header.Set("Clear-Site-Data", `"cache"`)
	}
	if k.cfg.Sessions == nil {
		c.header.Add("Set-Cookie", userCookie(c.req, "out."+newNonce()))
	}
}

// userCookieName is the kit's one cookie, used without Config.Sessions: it
// changes at every sign-out (a fresh random value) and, with Login per
// request, at every sign-in (a tag of the user: a keyed hash under the
// secret, no personal data, never the signature). Chromium keeps no-store
// pages in its back/forward cache and evicts them when an HttpOnly cookie of
// theirs changes; with scs, the token renewal is that change, but an app that
// keeps its users itself may clear a cookie the rule does not count (or
// none), and Clear-Site-Data arrives too late (the page went into the cache
// before the logout). With Login per request, the tag is how the kit tells a
// sign-in (which reloads an htmx page) from the same user's next request.
const userCookieName = "prefinery_user"

// userCookie is the Set-Cookie value of the kit's user cookie: HttpOnly,
// SameSite=Lax, the whole site, Secure over TLS, for the browser session.
func userCookie(r *http.Request, value string) string {
	c := &http.Cookie{Name: userCookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
	return c.String()
}

// userTag is the user cookie's value for identifier: 32 hex characters of
// an HMAC under the current secret, domain-separated from the signature.
func (k *Kit) userTag(identifier string) string {
	var sum [32]byte
	k.secret.Load().key.MAC(&sum, nil, "prefinery.user\x00", identifier)
	return hex.EncodeToString(sum[:16])
}

// cookieValue is the value of r's cookie name, "" when it has none.
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// SessionErrorFunc is an scs ErrorFunc (assign it to SessionManager.ErrorFunc)
// for session store failures: it logs the error through Config.Logger and
// answers 500 with a generic JSON error body and Cache-Control: no-store. No
// page is rendered, so no identity (anyone's) can be sent. The store's error
// is logged as the store reported it; the kit adds no identifier, secret or
// URL path (paths can carry personal data).
func (k *Kit) SessionErrorFunc(w http.ResponseWriter, r *http.Request, err error) {
	logger := slog.Default()
	if k != nil {
		logger = k.cfg.Logger
	}
	logger.Error("prefinery: session store failed; answering 500",
		slog.String("method", r.Method), slog.Any("error", err))
	respond.Error(w, r, http.StatusInternalServerError, "internal server error")
}
