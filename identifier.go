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
	for i := 0; i < len(s); {
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
