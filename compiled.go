package prefinery

import (
	"fmt"
	"html/template"
	"strings"
)

// The kit's snippets are rendered by html/template, but executing a template
// per request costs microseconds and dozens of allocations. So New executes
// each template once per shape (with or without a nonce, with or without an
// identity), with sentinel values in the two places that vary per request, and
// keeps the output split at those places. A request then fills the holes with
// exactly what html/template itself would produce there:
//
//   - the nonce, in an attribute: validated base64, whose only character
//     html/template escapes in that context is '+' (as "&#43;");
//   - the identity, in a script: html/template renders a json.Marshaler as its
//     HTML-safe encoding/json output, which is Identity.MarshalJSON.
//
// TestCompiledMatchesTemplate and FuzzEmbed check that the result is byte for
// byte what executing the template gives.

// hole says what a skeleton piece is followed by.
type hole uint8

const (
	noHole hole = iota
	nonceHole
	identityHole
)

// nonceSentinel survives attribute escaping unchanged and cannot occur in the
// constant parts of the templates.
const nonceSentinel = "PrefineryNonceHole7d1e"

// identitySentinelJSON is what identitySentinel marshals to; html/template
// inserts JSON objects without padding, as it does a real Identity.
const identitySentinelJSON = `{"prefineryIdentityHole":7}`

type identitySentinel struct{}

func (identitySentinel) MarshalJSON() ([]byte, error) { return []byte(identitySentinelJSON), nil }

// piece is constant HTML followed by a hole (or by nothing).
type piece struct {
	text string
	hole hole
}

// skeleton is one template's output for one shape, split at its holes.
type skeleton struct {
	pieces     []piece
	size       int // bytes of constant text
	nonceHoles int
}

// Template shapes, indexes into Kit.skeletons.
const (
	embedTemplate = iota
	loaderTemplate
	authenticateTemplate
	templateCount
)

var templateNames = [templateCount]string{"embed", "loader-only", "authenticate"}

// skeletonSet holds every shape: [template][has nonce][has identity].
type skeletonSet [templateCount][2][2]skeleton

// compileSkeletons renders every template shape for a Kit whose loader is src.
func compileSkeletons(src string) (*skeletonSet, error) {
	var set skeletonSet
	for t, name := range templateNames {
		for _, withNonce := range []bool{false, true} {
			for _, withIdentity := range []bool{false, true} {
				data := snippetData{Src: src}
				if withNonce {
					data.Nonce = nonceSentinel
				}
				if withIdentity {
					data.Identity = identitySentinel{}
				}
				var b strings.Builder
				if err := snippets.ExecuteTemplate(&b, name, data); err != nil {
					return nil, fmt.Errorf("prefinery: compiling the %s snippet: %w", name, err)
				}
				set[t][b2i(withNonce)][b2i(withIdentity)] = splitSkeleton(b.String())
			}
		}
	}
	return &set, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// splitSkeleton cuts rendered HTML at the sentinels.
func splitSkeleton(out string) skeleton {
	var s skeleton
	for {
		n := strings.Index(out, nonceSentinel)
		i := strings.Index(out, identitySentinelJSON)
		switch {
		case n < 0 && i < 0:
			s.pieces = append(s.pieces, piece{text: out})
			s.size += len(out)
			return s
		case i < 0 || (n >= 0 && n < i):
			s.pieces = append(s.pieces, piece{text: out[:n], hole: nonceHole})
			s.size += n
			s.nonceHoles++
			out = out[n+len(nonceSentinel):]
		default:
			s.pieces = append(s.pieces, piece{text: out[:i], hole: identityHole})
			s.size += i
			out = out[i+len(identitySentinelJSON):]
		}
	}
}

// render fills the skeleton's holes. nonce must be validated base64 and
// identity the output of Identity.MarshalJSON.
func (s *skeleton) render(nonce string, identity []byte) template.HTML {
	var b strings.Builder
	b.Grow(s.size + s.nonceHoles*len(nonce) + len(identity)) // a '+' in the nonce may still grow it
	for _, p := range s.pieces {
		b.WriteString(p.text)
		switch p.hole {
		case nonceHole:
			writeAttrBase64(&b, nonce)
		case identityHole:
			b.Write(identity)
		}
	}
	return template.HTML(b.String())
}

// writeAttrBase64 writes a validated base64 token as html/template escapes it
// in a quoted attribute value: '+' becomes "&#43;", the rest is unchanged.
func writeAttrBase64(b *strings.Builder, token string) {
	for {
		i := strings.IndexByte(token, '+')
		if i < 0 {
			b.WriteString(token)
			return
		}
		b.WriteString(token[:i])
		b.WriteString("&#43;")
		token = token[i+1:]
	}
}
