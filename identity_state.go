package prefinery

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
)

// This file is where a request's identity is first read and signed. The
// middleware gives each request an identityCell; the user is looked up when
// first needed (a read of the identity, a page's response header), signed
// when first read, and kept for the rest of the request, which Login and
// Logout change.

// identityCell is one request's identity and its page's CSP nonce: what the
// template functions, Kit.Identity, the identity endpoint and Login/Logout
// reach through the request's context. It is never reused: a handler may
// keep its request past its return.
type identityCell struct {
	kit    *Kit
	req    *http.Request // as the middleware got it: the user is looked up from it
	header http.Header   // the response's header (Logout's Clear-Site-Data; whether the page has a CSP)
	loaded string        // the scs session's token as the request loaded it (for the save check)

	mu         sync.Mutex // guards the fields below
	looked     bool       // identifier and err are known (looked up, or set by Login or Logout)
	identifier string     // "" when signed out
	err        error      // why the identifier could not be looked up
	signed     bool       // identifier's first read is done: signature holds it ("" when refused)
	signature  string
	read       bool   // the identity was handed out
	replaced   bool   // Login or Logout changed the identifier (and the session's token) here
	signChange bool   // one of them was a sign-in or sign-out the browser must see
	nonce      string // the page's CSP nonce, made on first use (without Config.Nonce)
	bareScript bool   // a kit script was rendered without a nonce, before the page had a CSP
}

// identityKey is the context key of a Kit's identity. It holds the Kit, so two
// Kits in one app never see each other's identity.
type identityKey struct{ kit *Kit }

// cellOf returns the identity cell k's middleware attached to ctx, or nil.
func (k *Kit) cellOf(ctx context.Context) *identityCell {
	c, _ := ctx.Value(identityKey{k}).(*identityCell)
	return c
}

// identity returns the request's identity, reading it first if nobody has:
// the lookup (the app's code) runs outside the lock; the first read
// (validate, sign) under it, so every caller gets one signature. err is why
// the identifier could not be looked up.
func (c *identityCell) identity() (Identity, bool, error) {
	c.lookUp()
	c.mu.Lock()
	if c.identifier == "" {
		err := c.err
		c.mu.Unlock()
		return Identity{}, false, err
	}
	problem := ""
	if !c.signed {
		var id Identity
		id, problem = c.kit.firstRead(c.identifier)
		c.signed, c.signature = true, id.Signature
	}
	if c.signature == "" {
		c.mu.Unlock()
		c.kit.logRefused(problem)
		return Identity{}, false, nil
	}
	c.read = true
	id := Identity{Kind: c.kit.cfg.Kind, Identifier: c.identifier, Signature: c.signature}
	c.mu.Unlock()
	return id, true, nil
}

// lookUp reads the signed-in user's identifier from the session (or
// Config.User) once, on first need. The app's code runs outside the lock; a
// Login or Logout that landed meanwhile wins.
func (c *identityCell) lookUp() {
	c.mu.Lock()
	looked := c.looked
	c.mu.Unlock()
	if looked {
		return
	}
	v, err := c.kit.signedInIdentifier(c.req) // on error (logged), the request looks signed out
	c.mu.Lock()
	if !c.looked {
		c.looked, c.identifier, c.err = true, v, err
	}
	c.mu.Unlock()
}

// signedIn reports whether a user is signed in for this request now.
func (c *identityCell) signedIn() bool {
	c.lookUp()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.identifier != ""
}

// set is Login (identifier) or Logout ("") taking effect for the rest of the
// request; signChange says it is a sign-in or sign-out (not Login naming the
// same user again, per request).
func (c *identityCell) set(identifier string, signChange bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.looked, c.identifier, c.err = true, identifier, nil
	c.signed, c.signature = false, ""
	c.replaced = true
	c.signChange = c.signChange || signChange
}

// signChanged reports whether a sign-in or sign-out happened in this request.
func (c *identityCell) signChanged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signChange
}

// wasRead reports whether the identity was handed out.
func (c *identityCell) wasRead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

// wasReplaced reports whether Login or Logout ran in this request.
func (c *identityCell) wasReplaced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaced
}

// signedInIdentifier returns the signed-in user's identifier as the session
// (or Config.User) holds it, "" when nobody is signed in, and an error
// wrapping ErrNoSession when the kit is not behind LoadAndSave. It is not
// validated yet: firstRead does that.
func (k *Kit) signedInIdentifier(r *http.Request) (string, error) {
	switch {
	case k.cfg.User != nil:
		v, ok := k.cfg.User(r)
		if !ok {
			return "", nil
		}
		return v, nil
	case k.cfg.Sessions != nil:
		v, err := k.sessionIdentifier(r.Context())
		if err != nil {
			k.diag.report(noSession)
		}
		return v, err
	}
	return "", nil // the app names the user with Login, request by request
}

// firstRead turns a signed-in user's identifier into the Identity the kit
// hands out, and is the one place that does: it validates the identifier
// and signs it with the current secret. It does no I/O. An identifier the
// kit cannot emit faithfully gives a zero Identity and the problem, which
// the caller logs (logRefused): the user is signed out for Prefinery. A
// logged-out session needs no check here: Logout renewed its token, and the
// save check keeps a request in flight from saving it again (replaced.go).
func (k *Kit) firstRead(identifier string) (Identity, string) {
	if problem := identifierProblem(identifier, k.cfg.MaxIdentifierLength); problem != "" {
		return Identity{}, problem
	}
	return Identity{Kind: k.cfg.Kind, Identifier: identifier, Signature: k.Sign(identifier)}, ""
}

// logRefused logs an identifier firstRead refused, without its value.
func (k *Kit) logRefused(problem string) {
	if problem != "" {
		k.cfg.Logger.Warn("prefinery: identifier refused; the user is treated as signed out for Prefinery",
			slog.String("kind", string(k.cfg.Kind)), slog.String("reason", problem))
	}
}

// requestIdentity is the identity endpoint's: the cell's identity behind the
// middleware, a planted one, or else a first read done here (for the
// endpoint mounted without the middleware). err is why it could not be read.
func (k *Kit) requestIdentity(r *http.Request) (Identity, bool, error) {
	if id, ok, attached, err := k.attachedIdentity(r.Context()); attached {
		return id, ok, err
	}
	k.diag.report(notThroughKit)
	identifier, err := k.signedInIdentifier(r)
	if err != nil || identifier == "" {
		return Identity{}, false, err
	}
	id, problem := k.firstRead(identifier)
	k.logRefused(problem)
	return id, problem == "", nil
}
