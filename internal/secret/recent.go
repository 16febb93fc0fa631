package secret

import (
	"hash/maphash"
	"sync/atomic"
)

// recentSlots bounds the signatures a key remembers: 1,024 entries of an
// identifier (at most MaxRemembered bytes, usually tens) and its signature.
const recentSlots = 1024

// MaxRemembered is the longest message whose signature is remembered: the
// longest identifier any Kit signs. Longer messages are always signed afresh.
const MaxRemembered = 4096

// recentSignatures remembers the signatures of recently signed identifiers,
// so a signed-in user's requests after the first skip the HMAC (the largest
// cost of reading the identity). Each identifier has one slot, chosen by a
// hash seeded per key; signing another identifier that lands there replaces
// it. A hit needs the identifier byte for byte, so a remembered signature is
// always the one the HMAC gives. It lives inside the key, so a rotated secret
// starts empty and no printed value can reach it.
type recentSignatures struct {
	seed  maphash.Seed
	slots *[recentSlots]atomic.Pointer[signedMessage]
}

// signedMessage is one remembered signature.
type signedMessage struct {
	message, signature string
}

func newRecentSignatures() recentSignatures {
	return recentSignatures{seed: maphash.MakeSeed(), slots: new([recentSlots]atomic.Pointer[signedMessage])}
}

// slot is where message's signature is remembered, if it is.
func (c *recentSignatures) slot(message string) *atomic.Pointer[signedMessage] {
	return &c.slots[maphash.String(c.seed, message)%recentSlots]
}

// get returns message's remembered signature, if it has one.
func (c *recentSignatures) get(message string) (string, bool) {
	_, sig, ok := c.lookup(message)
	return sig, ok
}

// lookup returns message's slot, and its remembered signature if it has one.
func (c *recentSignatures) lookup(message string) (slot *atomic.Pointer[signedMessage], signature string, ok bool) {
	slot = c.slot(message)
	if e := slot.Load(); e != nil && e.message == message {
		return slot, e.signature, true
	}
	return slot, "", false
}
