package htmlscan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/net/html"
)

// TestInsertionPoint: the last </body> that stands in markup, and none where
// the page holds it only in text, comments, attributes or raw text, or does
// something the scanner does not follow.
func TestInsertionPoint(t *testing.T) {
	tests := []struct {
		page string
		want int // -1: no insertion point
	}{
		{"<html><body><p>hi</p></body></html>", 21},
		{`<body>a</body><script>var s = "</body>";</script>`, 7},
		{"<body><!-- </body> --></body>", 22},
		{"<body><textarea></body></textarea></body>", 34},
		{`<body><a title="</body>" x='</body>'>x</a></body>`, 42},
		{"<body><svg><![CDATA[</body>]]></svg></body>", 36},
		{"<body><script><!--<script></script></body>", -1},
		{"<!--></body>--></body>", 15},
		{"<body></body foo='>'></body >", 21},
		{"<body><plaintext></body>", -1},
		{"<body>no end tag", -1},
		// The tree builder's side: where a script before </body> would not
		// be a running HTML script, or would change the page.
		{"<body><svg><title><textarea></body>", -1},      // an svg title is an integration point: a real textarea
		{"<body><![CDATA[><textarea>]]></body>", -1},     // CDATA is a bogus comment in HTML: a real textarea
		{"<body><svg><style><!--</style></body>", -1},    // an svg style is no raw text: the comment hides </body>
		{"<body><svg><circle/></body>", -1},              // an unclosed svg: the script would be svg's
		{"<body><math><mi>x</body>", -1},                 // an unclosed math
		{"<body><template><p></body>", -1},               // template contents are inert
		{"<frameset></frameset></body>", -1},             // a frameset document ignores the script
		{"<body><svg><title>t</title></svg></body>", 33}, // closed: fine
		{"<body><svg/><math/></body>", 19},               // self-closing roots open nothing
		{"<body><svg><p>breaks out</p></body>", 28},      // <p> ends foreign content
		{"<body><template><svg></template></body>", 32},  // </template> closes what it holds
		{"<body><svg><foreignObject><div></div></foreignObject></svg></body>", 59},
	}
	for _, tt := range tests {
		m := New("")
		m.Write([]byte(tt.page))
		assert.Equal(t, tt.want, m.InsertionPoint(), "%q", tt.page)
	}
}

// TestHoldFrom: while a page streams, what may be sent ends before an
// unfinished tag or the last </body> seen.
func TestHoldFrom(t *testing.T) {
	m := New("")
	m.Write([]byte("<body><p>one</p></bo"))
	assert.Equal(t, 16, m.HoldFrom(), "an unfinished tag may be </body>")
	m.Write([]byte("dy>tail"))
	assert.Equal(t, 16, m.HoldFrom(), "the </body> itself is held")
}

// FuzzInsertionPoint: wherever the markup scanner would insert the snippet,
// golang.org/x/net/html's tokenizer reads a </body> end tag starting there,
// and its tree builder makes a script inserted there a running HTML script
// without changing the rest of the page; and the scanner's answer does not
// depend on how the page is split into writes.
func FuzzInsertionPoint(f *testing.F) {
	for _, seed := range []string{
		"<html><body><p>hi</p></body></html>",
		`<body>a</body><script>var s = "</body>";</script>`,
		"<body><!-- </body> --></body>",
		"<body><textarea></body></textarea></body>",
		`<body><a title="</body>" x='</body>'>x</a></body>`,
		"<body><svg><![CDATA[</body>]]></svg></body>",
		"<body><script><!--<script></script></body>",
		"<!--></body>--></body>",
		"<body></body foo='>'></body >",
	} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, page string, split uint8) {
		whole := New("")
		whole.Write([]byte(page))
		at := whole.InsertionPoint()

		pieces := New("")
		step := int(split%16) + 1
		for i := 0; i < len(page); i += step {
			pieces.Write([]byte(page[i:min(i+step, len(page))]))
		}
		if got := pieces.InsertionPoint(); got != at {
			t.Fatalf("split in %d-byte writes: %d, whole: %d", step, got, at)
		}
		if at < 0 {
			return
		}
		if why := verdict(page, at); why != "" {
			t.Fatalf("inserting at %d: %s, in %q", at, why, page)
		}
		z := html.NewTokenizer(strings.NewReader(page))
		offset := 0
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				t.Fatalf("insertion point %d is not a </body> the tokenizer reads in %q", at, page)
			}
			raw := len(z.Raw())
			if offset == at {
				name, _ := z.TagName()
				if tt != html.EndTagToken || string(name) != "body" {
					t.Fatalf("insertion point %d is a %v %q to the tokenizer, in %q", at, tt, name, page)
				}
				return
			}
			offset += raw
		}
	})
}
