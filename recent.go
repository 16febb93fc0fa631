package prefinery

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// recentSlots bounds the signatures a secret remembers: 1,024 entries of an
// identifier (at most 4 KiB, usually tens of bytes) and its 64-byte signature.
const recentSlots = 1024

// recentSignatures remembers the signatures of recently signed identifiers,
// so a signed-in user's requests after the first skip the HMAC (the largest
// cost of reading the identity). Each identifier has one
// slot, chosen by a hash seeded per secret; signing another identifier that
// lands there replaces it. A hit needs the identifier byte for byte, so a
// remembered signature is always the one the HMAC gives. It lives inside the
// Secret's key material, so a rotated secret starts empty and no printed
// value can reach it.
type recentSignatures struct {
	seed  maphash.Seed
	slots [recentSlots]atomic.Pointer[signedIdentifier]
}

// signedIdentifier is one remembered signature.
type signedIdentifier struct {
	identifier, signature string
}

// slot is where identifier's signature is remembered, if it is.
func (c *recentSignatures) slot(identifier string) *atomic.Pointer[signedIdentifier] {
	return &c.slots[maphash.String(c.seed, identifier)%recentSlots]
}

// get returns identifier's remembered signature, if it has one.
func (c *recentSignatures) get(identifier string) (string, bool) {
	if e := c.slot(identifier).Load(); e != nil && e.identifier == identifier {
		return e.signature, true
	}
	return "", false
}

// put remembers identifier's signature. Identifiers longer than any Kit
// accepts (Kit.Sign takes any string) are not remembered; a copy is kept, so
// a short identifier cut from a large string does not keep that alive.
func (c *recentSignatures) put(identifier, signature string) {
	if len(identifier) > maxIdentifierCeiling {
		return
	}
	c.slot(identifier).Store(&signedIdentifier{strings.Clone(identifier), signature})
}
