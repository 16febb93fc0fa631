package prefinery

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// attachment is everything the middleware adds to a signed-in user's request,
// in a single allocation: the request copy the handler receives, the context
// that carries the identity, and the response writer that keeps the response
// private. Its fields are only what the kit needs per request (the kind, the
// secret and the test hook are read from the Kit), so the block fits the
// allocator's 416-byte size class.
//
// An attachment is never reused: the handler may keep the request or its
// context past its return (a goroutine, a log line), and a recycled block
// would show it another user's identity.
type attachment struct {
	req http.Request
	ctx identityContext
	w   privateWriter
}

// attach builds the attachment for identifier and returns the writer and
// request to hand to the next handler.
func (k *Kit) attach(w http.ResponseWriter, r *http.Request, identifier string) (http.ResponseWriter, *http.Request) {
	a := &attachment{
		ctx: identityContext{Context: r.Context(), kit: k, value: identifier},
		w:   privateWriter{ResponseWriter: w, kit: k},
	}
	// WithContext is inlined here, so its own copy of the request stays on
	// the stack and only a.req reaches the heap.
	a.req = *r.WithContext(&a.ctx)
	return &a.w, &a.req
}

// identityContext is the handler's context for a signed-in user: the incoming
// context plus the identity under identityKey, signed on first read.
type identityContext struct {
	context.Context
	kit   *Kit
	value string // the identifier, validated

	signOnce sync.Once
	sig      string // set by the first read
}

// identity returns the identity, signing it on first read, at most once per
// request, with the Kit's secret current at that moment. Later reads, from any
// goroutine, return the same signature, so everything rendered for one request
// agrees even across a Rotate.
func (c *identityContext) identity() Identity {
	c.signOnce.Do(func() { c.sig = c.kit.sign(c.value) })
	return Identity{Kind: c.kit.kind, Value: c.value, Signature: c.sig}
}

// Value returns the identity for identityKey and defers to the incoming
// context for every other key.
func (c *identityContext) Value(key any) any {
	if _, ok := key.(identityKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// String describes the context without revealing the identity.
func (c *identityContext) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(prefinery.Identity)"
}
