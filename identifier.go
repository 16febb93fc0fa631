package prefinery

import (
	"fmt"
	"unicode/utf8"
)

// DefaultMaxIdentifierLength is the longest identifier, in bytes, the kit signs
// unless [Config.MaxIdentifierLength] says otherwise. RFC 5321 caps an email
// address at 254 bytes in practice; referral codes and ids are far shorter.
const DefaultMaxIdentifierLength = 320

// maxIdentifierCeiling bounds Config.MaxIdentifierLength, and is the limit
// Identity.MarshalJSON applies on its own.
const maxIdentifierCeiling = 4096

// identifierProblem says why the kit cannot sign and emit s faithfully, or
// returns "" when it can. The reason never quotes s: identifiers are personal
// data and must not reach logs.
//
// Refused are: the empty string; anything longer than max bytes; invalid UTF-8
// (html/template and encoding/json would turn it into U+FFFD, so the browser
// would send a string other than the one signed); and control characters (C0,
// DEL, C1), which no email, referral code or id contains.
func identifierProblem(s string, max int) string {
	if s == "" {
		return "the identifier is empty"
	}
	if len(s) > max {
		return fmt.Sprintf("the identifier is %d bytes, over the limit of %d", len(s), max)
	}
	i := asciiPrefix(s)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fmt.Sprintf("the identifier has a control character at byte %d", i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("the identifier is not valid UTF-8 at byte %d", i)
		}
		if r >= 0x80 && r <= 0x9f {
			return fmt.Sprintf("the identifier has a control character at byte %d", i)
		}
		i += size
	}
	return ""
}

// asciiPrefix returns the length of the longest prefix of s, in whole 8-byte
// words, that is printable ASCII (0x20 to 0x7e), checking a word at a time.
// The byte loop in identifierProblem takes over from there.
func asciiPrefix(s string) int {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		nonASCII := x & high
		control := (x - 0x20*ones) & ^x & high                    // a byte below 0x20
		del := ((x ^ 0x7f*ones) - ones) & ^(x ^ 0x7f*ones) & high // a byte equal to 0x7f
		if nonASCII|control|del != 0 {
			break
		}
	}
	return i
}
