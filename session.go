package prefinery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery/internal/respond"
)

// scsNoSessionPanic is the prefix of the panic scs raises when a context
// carries no session data (the handler is not behind LoadAndSave).
const scsNoSessionPanic = "scs: no session data in context"

// withSession runs fn, turning scs's "no session data" panic into ErrNoSession.
// Any other panic is not the kit's to hide and is re-raised.
func withSession(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if s, ok := p.(string); ok && strings.HasPrefix(s, scsNoSessionPanic) {
				err = ErrNoSession
				return
			}
			panic(p)
		}
	}()
	return fn()
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

// sessionLoggedOut reports whether the request's session token was logged
// out (see loggedOut). The kit asks before it hands out a signature: once per
// request that reads the identity, so pages that never render it pay nothing.
// A store failure is an error: the caller treats the user as signed out.
func (k *Kit) sessionLoggedOut(ctx context.Context) (bool, error) {
	if k.cfg.Sessions == nil {
		return false, nil
	}
	var token string
	if err := withSession(func() error { token = k.cfg.Sessions.Token(ctx); return nil }); err != nil || token == "" {
		return false, err
	}
	revoked, err := k.loggedOut(ctx, token)
	if err != nil {
		k.cfg.Logger.Error("prefinery: the session store failed; treating the user as signed out", slog.Any("error", err))
		return false, fmt.Errorf("prefinery: checking the session for a logout: %w", err)
	}
	return revoked, nil
}

// The race Logout closes: request A loads the session (token T1) and is slow;
// request B logs out, which renews the token to T2 and deletes T1; then A
// saves T1 again (it wrote to the session, or scs's IdleTimeout saves every
// request) and sends its cookie, so the browser is back on T1 with the user
// in it. So Logout leaves a marker for T1 in the session store, beside the
// sessions, for as long as a session lives, and a session whose token is
// marked is signed out. It costs one store lookup per request that reads the
// identity.

// loggedOutKey is the store key marking a token as logged out. scs tokens are
// URL-safe base64, so it never collides with a session.
func loggedOutKey(token string) string { return "prefinery-logged-out:" + token }

// loggedOut reports whether Logout marked token.
func (k *Kit) loggedOut(ctx context.Context, token string) (bool, error) {
	var found bool
	var err error
	if cs, ok := k.cfg.Sessions.Store.(scs.CtxStore); ok {
		_, found, err = cs.FindCtx(ctx, loggedOutKey(token))
	} else {
		_, found, err = k.cfg.Sessions.Store.Find(loggedOutKey(token))
	}
	return found, err
}

// markLoggedOut leaves the marker for token, for the session lifetime.
func (k *Kit) markLoggedOut(ctx context.Context, token string) error {
	expiry := time.Now().Add(k.cfg.Sessions.Lifetime)
	if cs, ok := k.cfg.Sessions.Store.(scs.CtxStore); ok {
		return cs.CommitCtx(ctx, loggedOutKey(token), []byte{1}, expiry)
	}
	return k.cfg.Sessions.Store.Commit(loggedOutKey(token), []byte{1}, expiry)
}

// Login records identifier as the signed-in user in the request's scs session
// (ctx is the request context, inside LoadAndSave), and for the rest of the
// request: templates rendered after it show the new user. Store the
// identifier from the app's user record, exactly as Prefinery has it, not the
// address as typed into a form. Login first renews the session token, which
// defeats session fixation. It returns an error wrapping
// [ErrInvalidIdentifier] for an identifier the kit would refuse to sign,
// [ErrNoSession] outside LoadAndSave, [ErrInvalidConfig] when the Kit uses
// Config.User, or the session store's error; on error nothing is stored.
func (k *Kit) Login(ctx context.Context, identifier string) error {
	if k.cfg.Sessions == nil {
		return errNoSessionManager
	}
	if problem := identifierProblem(identifier, k.cfg.MaxIdentifierLength); problem != "" {
		return identifierError(problem)
	}
	return withSession(func() error {
		if err := k.cfg.Sessions.RenewToken(ctx); err != nil {
			return fmt.Errorf("prefinery: login: renewing the session token: %w", err)
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
// and Back shows no signature. Its errors are those of [Kit.Login].
// Prefinery has no de-authentication call: pages rendered after Logout simply
// stop emitting authenticateUser.
func (k *Kit) Logout(ctx context.Context) error {
	if k.cfg.Sessions == nil {
		return errNoSessionManager
	}
	return withSession(func() error {
		if old := k.cfg.Sessions.Token(ctx); old != "" {
			if err := k.markLoggedOut(ctx, old); err != nil {
				return fmt.Errorf("prefinery: logout: marking the old session token: %w", err)
			}
		}
		if err := k.cfg.Sessions.RenewToken(ctx); err != nil {
			return fmt.Errorf("prefinery: logout: renewing the session token: %w", err)
		}
		k.cfg.Sessions.Remove(ctx, k.cfg.SessionKey)
		if s := k.setRequestIdentifier(ctx, ""); s != nil && !k.cfg.KeepCacheOnLogout && !s.headerSent.Load() {
			s.Header().Set("Clear-Site-Data", `"cache"`)
		}
		return nil
	})
}

// setRequestIdentifier makes Login or Logout apply to the rest of the request
// whose context is ctx, and returns its response (nil outside the middleware).
func (k *Kit) setRequestIdentifier(ctx context.Context, identifier string) *requestState {
	s := k.stateOf(ctx)
	if s != nil {
		s.setIdentifier(identifier)
	}
	return s
}

// SessionErrorFunc is an scs ErrorFunc (assign it to SessionManager.ErrorFunc)
// for session store failures: it logs the error through Config.Logger and
// answers 500 with a generic JSON error body and Cache-Control: no-store. No
// page is rendered, so no identity (anyone's) can be sent. The store's error
// is logged as the store reported it; the kit adds no identifier, secret or
// URL path (paths can carry personal data).
func (k *Kit) SessionErrorFunc(w http.ResponseWriter, r *http.Request, err error) {
	k.cfg.Logger.Error("prefinery: session store failed; answering 500",
		slog.String("method", r.Method), slog.Any("error", err))
	respond.Error(w, r, http.StatusInternalServerError, "internal server error")
}
