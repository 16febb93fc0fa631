// Package secret holds the kit's key material: a Prefinery secret as a pool
// of keyed HMAC-SHA256 states. The root
// package's Secret wraps a *Key; the webhook package and the CLI reach the key
// through [Of], so it is shared by the module's packages and exported by none.
package secret

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// SignatureLength is the length of a signature: hex-encoded HMAC-SHA256.
const SignatureLength = 2 * sha256.Size

// Key is the key material of one secret. It is immutable and safe for
// concurrent use; it has no String method, and nothing prints it.
type Key struct {
	macs   sync.Pool // of *macState
	onSign func()    // called on each Sign: a test's counter (NewObserved); nil otherwise
}

// macState is one keyed HMAC state and the buffers it writes through.
type macState struct {
	h   hash.Hash
	in  []byte // the message, copied so Write needs no conversion
	sum [sha256.Size]byte
}

// New returns the key for secret, byte for byte as given: the caller checks
// the policy (length, whitespace) first.
func New(secret string) *Key {
	b := []byte(secret)
	k := &Key{}
	// crypto/hmac keeps the keyed pad states, so Reset readies a pooled
	// state without hashing the key again.
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, b)} }
	return k
}

// NewObserved is New for tests: onSign is called on every Sign of the key,
// so a test counts the signatures its requests made, without a global hook.
func NewObserved(secret string, onSign func()) *Key {
	k := New(secret)
	k.onSign = onSign
	return k
}

// Of returns the key inside a prefinery.Secret, or nil for a zero Secret or
// a value of another type. The root package sets it when it loads, so every
// package of the module that can name a Secret can reach its key, and no
// other module can.
var Of func(secret any) *Key

// Sign returns the lowercase hex HMAC-SHA256 of message.
func (k *Key) Sign(message string) string {
	if k.onSign != nil {
		k.onSign()
	}
	var sum [sha256.Size]byte
	var out [SignatureLength]byte
	k.MAC(&sum, nil, message)
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// MAC writes into sum the HMAC-SHA256 of the prefix strings followed by body
// (a webhook's "timestamp" "." body). The strings are copied into the state's
// buffer, since Write takes bytes; body is hashed in place.
func (k *Key) MAC(sum *[sha256.Size]byte, body []byte, prefix ...string) {
	m := k.macs.Get().(*macState)
	m.h.Reset()
	m.in = m.in[:0]
	for _, p := range prefix {
		m.in = append(m.in, p...)
	}
	m.h.Write(m.in)
	m.h.Write(body)
	copy(sum[:], m.h.Sum(m.sum[:0]))
	if cap(m.in) <= 64<<10 { // do not keep a huge message's buffer alive
		k.macs.Put(m)
	}
}

// IsSignature reports whether s is a signature as Prefinery writes one: 64
// lowercase hex characters.
func IsSignature(s string) bool {
	if len(s) != SignatureLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
