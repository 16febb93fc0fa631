package prefinery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// MinSecretLength is the shortest secret [NewSigner] and [New] accept, in bytes.
// Prefinery's Identity Verification Secrets are far longer; anything shorter is
// almost certainly a placeholder or a truncated copy.
const MinSecretLength = 16

// SignatureLength is the length of every signature the kit produces: 64
// lowercase hexadecimal characters (a hex-encoded HMAC-SHA256).
const SignatureLength = 2 * sha256.Size

// Signer computes Prefinery Identity Verification signatures: the lowercase hex
// HMAC-SHA256 of an identifier under the project's secret, byte for byte the
// same as the vendor's Node, Ruby, PHP and Python snippets.
//
// NewSigner precomputes the HMAC inner and outer pad states once, so each
// signature costs two SHA-256 block compressions for identifiers under 56
// bytes. A Signer is immutable and safe for concurrent use by any number of
// goroutines. It never reveals its key: every fmt verb, slog, encoding/json,
// encoding/xml and encoding.TextMarshaler print it as redacted. Only a
// Signer from NewSigner is usable; the zero value is not.
type Signer struct {
	inner []byte // marshaled sha256 state after absorbing key XOR ipad
	outer []byte // marshaled sha256 state after absorbing key XOR opad
}

// NewSigner returns a Signer for the project's Identity Verification Secret,
// copied from Prefinery's project settings (Settings > Project Settings >
// General Settings). The secret's bytes are the HMAC key exactly as given: it
// is not trimmed, lowercased or decoded. NewSigner returns an error wrapping
// [ErrInvalidSecret] when the secret is empty, only whitespace, or shorter
// than [MinSecretLength] bytes; the error never contains the secret.
func NewSigner(secret string) (*Signer, error) {
	if err := checkSecret(secret); err != nil {
		return nil, err
	}
	return newSigner(secret), nil
}

// checkSecret reports why a secret is unusable, without quoting it.
func checkSecret(secret string) error {
	switch {
	case secret == "":
		return fmt.Errorf("%w: the secret is empty; copy the Identity Verification Secret from Prefinery's project settings", ErrInvalidSecret)
	case strings.TrimSpace(secret) == "":
		return fmt.Errorf("%w: the secret is only whitespace; copy the Identity Verification Secret from Prefinery's project settings", ErrInvalidSecret)
	case len(secret) < MinSecretLength:
		return fmt.Errorf("%w: the secret is %d bytes, shorter than the minimum of %d; copy the whole Identity Verification Secret from Prefinery's project settings", ErrInvalidSecret, len(secret), MinSecretLength)
	}
	return nil
}

// newSigner builds a Signer without policy checks. HMAC itself accepts any key;
// the package only uses this directly for RFC-style known-answer tests.
func newSigner(secret string) *Signer {
	key := []byte(secret)
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	var ipad, opad [sha256.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	s := &Signer{inner: padState(ipad[:]), outer: padState(opad[:])}
	clear(key)
	clear(ipad[:])
	clear(opad[:])
	return s
}

// padState returns the marshaled SHA-256 state after absorbing one pad block.
func padState(pad []byte) []byte {
	h := sha256.New()
	h.Write(pad)
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		// crypto/sha256 documents that its digests marshal; this cannot happen.
		panic("prefinery: sha256 state cannot be marshaled: " + err.Error())
	}
	return state
}

// mac writes HMAC-SHA256(key, identifier) into sum.
func (s *Signer) mac(sum *[sha256.Size]byte, identifier string) {
	// The digests are created here, not pooled: after inlining, the compiler
	// devirtualizes them and keeps them on the stack.
	inner := sha256.New()
	if err := inner.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.inner); err != nil {
		panic(errBadState)
	}
	// Feed the identifier through a stack buffer: converting it with
	// []byte(identifier) would allocate for identifiers over 32 bytes.
	var chunk [sha256.BlockSize]byte
	for len(identifier) > 0 {
		n := copy(chunk[:], identifier)
		inner.Write(chunk[:n])
		identifier = identifier[n:]
	}
	inner.Sum(sum[:0])

	outer := sha256.New()
	if err := outer.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.outer); err != nil {
		panic(errBadState)
	}
	outer.Write(sum[:])
	outer.Sum(sum[:0])
}

// errBadState would mean a Signer was built other than by NewSigner.
var errBadState = errors.New("prefinery: corrupt signer state (a Signer must come from NewSigner)")

// Sign returns the signature of identifier: 64 lowercase hex characters.
// The identifier is signed byte for byte as given. Sign makes one allocation,
// the returned string; use [Signer.AppendSign] to avoid it.
func (s *Signer) Sign(identifier string) string {
	var buf [SignatureLength]byte
	return string(s.AppendSign(buf[:0], identifier))
}

// AppendSign appends the signature of identifier (64 lowercase hex characters)
// to dst and returns the extended slice. It does not allocate when dst has
// room for 64 more bytes.
func (s *Signer) AppendSign(dst []byte, identifier string) []byte {
	var sum [sha256.Size]byte
	s.mac(&sum, identifier)
	return hex.AppendEncode(dst, sum[:])
}

// Verify reports whether signature is the signature of identifier. Upper- and
// lowercase hex are both accepted; anything that is not 64 hex characters is
// false. The comparison of MACs runs in constant time ([hmac.Equal]).
func (s *Signer) Verify(identifier, signature string) bool {
	if len(signature) != SignatureLength {
		return false
	}
	var got [sha256.Size]byte
	if _, err := hex.Decode(got[:], []byte(signature)); err != nil {
		return false
	}
	var want [sha256.Size]byte
	s.mac(&want, identifier)
	return hmac.Equal(got[:], want[:])
}

const redacted = "[redacted]"

// String returns a redacted description; it never contains key material.
func (s *Signer) String() string { return "prefinery.Signer{" + redacted + "}" }

// GoString returns the same redacted description as String, for %#v.
func (s *Signer) GoString() string { return s.String() }

// Format prints the redacted description under every fmt verb (%v, %+v, %#v,
// %s, %q, %x, %d, ...), so key material never reaches formatted output.
func (s *Signer) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s.String()) }

// LogValue makes slog print the Signer as redacted.
func (s *Signer) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the Signer as the JSON string "[redacted]".
func (s *Signer) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the Signer as "[redacted]" (encoding/xml, YAML, flags).
func (s *Signer) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// formatRedacted writes desc for any verb, quoting it for %q.
func formatRedacted(f fmt.State, verb rune, desc string) {
	if verb == 'q' {
		desc = `"` + desc + `"`
	}
	_, _ = f.Write([]byte(desc))
}
