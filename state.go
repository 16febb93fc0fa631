package prefinery

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prefinerykit/prefinery/internal/csp"
)

// requestState is one request's identity and the response writer that guards
// its header. It is the request's context too, answering the Kit's key with
// itself, so the template functions and Login/Logout reach it through
// r.Context() as any middleware's value, without a second allocation. It is
// never reused: a handler may keep its request past its return.
type requestState struct {
	context.Context
	http.ResponseWriter
	kit *Kit
	req *http.Request // as the middleware got it, for the lookup

	looked     atomic.Bool // identifier and lookupErr are known (set under mu)
	headerSent atomic.Bool // the final header went out (set under mu)

	mu         sync.Mutex
	identifier string      // "" when signed out; changed by Login and Logout
	lookupErr  error       // why the identifier could not be looked up, if it could not
	version    int         // bumped by Login and Logout: a first read of an older identifier is dropped
	signed     bool        // the first read of identifier is done: signature holds it
	signature  string      // identifier's signature; "" when firstRead refused it
	read       atomic.Bool // an identity was handed out during this request (set under mu)
	protected  bool        // the header went out with the protections
	nonce      string      // the page's CSP nonce, made on first use (without Config.Nonce)

	renderedNoNonce bool // a kit script was rendered before the page had a CSP
	saveGuarded     bool // guardSave ran (scs saves the session next)
}

// identityKey is the context key of a Kit's identity. It holds the Kit, so two
// Kits in one app never see each other's identity.
type identityKey struct{ kit *Kit }

// stateOf returns the request state k's middleware attached to ctx, or nil.
func (k *Kit) stateOf(ctx context.Context) *requestState {
	s, _ := ctx.Value(identityKey{k}).(*requestState)
	return s
}

// Value returns s for the Kit's identity key and defers every other key to
// the request's own context.
func (s *requestState) Value(key any) any {
	if key == (identityKey{s.kit}) {
		return s
	}
	return s.Context.Value(key)
}

// String describes the context without the identity (personal data).
func (s *requestState) String() string {
	return fmt.Sprint(s.Context) + ".WithValue(prefinery identity)"
}

// identity returns the request's identity, doing its first read (firstRead,
// outside the lock) once per identifier; later reads return the same one.
// err is why the identifier could not be looked up (no session).
func (s *requestState) identity() (Identity, bool, error) {
	s.lookUp()
	for {
		s.mu.Lock()
		if s.identifier == "" {
			err := s.lookupErr
			s.mu.Unlock()
			return Identity{}, false, err
		}
		if s.signed {
			if s.signature == "" {
				s.mu.Unlock()
				return Identity{}, false, nil
			}
			s.noteRead()
			id := Identity{Kind: s.kit.cfg.Kind, Identifier: s.identifier, Signature: s.signature}
			s.mu.Unlock()
			return id, true, nil
		}
		identifier, version := s.identifier, s.version
		s.mu.Unlock()

		id, ok := s.kit.firstRead(identifier)

		s.mu.Lock()
		if s.version == version && !s.signed {
			s.signed, s.signature = true, id.Signature
			if !ok {
				s.signature = ""
			}
		}
		s.mu.Unlock() // a Login or Logout landed meanwhile: read again
	}
}

// noteRead records that the identity was handed out (s.mu held), and says
// once per Kit when that happened after an unprotected header went out.
func (s *requestState) noteRead() {
	if s.read.Load() {
		return
	}
	s.read.Store(true)
	if s.headerSent.Load() && !s.protected {
		s.kit.diag.report(readAfterHeader)
	}
}

// lookUp reads the signed-in user's identifier from the session (or
// Config.User) once, on first need. The lookup runs outside the lock, as it
// calls the app's code; a Login or Logout that landed meanwhile wins.
func (s *requestState) lookUp() {
	if s.looked.Load() {
		return
	}
	v, err := s.kit.signedInIdentifier(s.req) // on error (logged), the request looks signed out
	s.mu.Lock()
	if !s.looked.Load() {
		s.identifier, s.lookupErr = v, err
		s.looked.Store(true)
	}
	s.mu.Unlock()
}

// signedIn reports whether a user is signed in for this request now.
func (s *requestState) signedIn() bool {
	s.lookUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identifier != ""
}

// renderNonce returns the nonce for a script the kit renders: the page's, if
// it has one or its header (so far) carries a CSP; else "" and it notes that
// a script went out without one.
func (s *requestState) renderNonce() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonce == "" && !csp.Has(s.ResponseWriter.Header()) {
		s.renderedNoNonce = true
		return ""
	}
	if s.nonce == "" {
		s.nonce = newNonce()
	}
	return s.nonce
}

// checkBypass reports, once per Kit, a handler that read the identity but
// returned without writing through the kit's writer: its response (written
// to a writer captured outside the middleware, as gin's is by a c.Next()
// that keeps it) left without the kit's protections.
func (s *requestState) checkBypass() {
	if s.read.Load() && !s.headerSent.Load() {
		s.kit.diag.report(writerBypassed)
	}
}

// setIdentifier is Login and Logout taking effect for the rest of the request.
func (s *requestState) setIdentifier(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identifier, s.lookupErr, s.version = v, nil, s.version+1
	s.signed, s.signature = false, ""
	s.looked.Store(true)
}
