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
		// <noscript>: raw text with scripting on, markup with scripting off
		// (a sandboxed iframe without allow-scripts). Both must agree.
		{"<body><noscript><form action=//evil><textarea></noscript></body>", -1}, // off: the snippet is the field's text
		{"<body><noscript><a title='</noscript></body>", -1},                     // off: an attribute value
		{"<head><noscript><!--</noscript>--></head><body></body>", -1},           // off: the noscript still open
		{"<body><noscript><p>Turn on JavaScript</p></noscript></body>", 52},
		{`<body><noscript><iframe src="/ns"></iframe></noscript><p>x</p></body>`, 62},
		{"<body><noscript><b>a</noscript><p>b</p></body>", 39},
		{"<body><svg><noscript></noscript></svg></body>", 38}, // foreign: no raw text either way
	}
	for _, tt := range tests {
		m := New("")
		m.Write([]byte(tt.page))
		assert.Equal(t, tt.want, m.InsertionPoint(), "%q", tt.page)
	}
}

// TestFacts: the stub counts only in a script's text, and a <meta> CSP only
// as a <meta> start tag's first http-equiv attribute, as a browser reads them;
// written whole and a byte at a time.
func TestFacts(t *testing.T) {
	const stub = "q=q||[];q.push(1);"
	tests := []struct {
		page          string
		stub, metaCSP bool
	}{
		{"<script>" + stub + "</script>", true, false},
		{"<SCRIPT type=module>var a;" + stub + "</SCRIPT>", true, false},
		{"<script>q=q||[];q=q||[];q.push(1);</script>", true, false}, // a partial match first
		{"<!-- <script>" + stub + "</script> -->", false, false},
		{"<a title='" + stub + "'>x</a>", false, false},
		{"<textarea><script>" + stub + "</script></textarea>", false, false},
		{"<noscript><script>" + stub + "</script></noscript>", false, false}, // runs only with scripting off: never
		{"<p>" + stub + "</p>", false, false},
		{"<script>q=q||[];</script><script>q.push(1);</script>", false, false}, // one script's text
		{"<script>" + stub[:5] + "</scrip>" + stub[5:] + "</script>", false, false},

		{`<meta http-equiv="Content-Security-Policy" content="script-src 'none'">`, false, true},
		{`<META HTTP-EQUIV=CONTENT-SECURITY-POLICY content="x">`, false, true},
		{`<meta content='x' http-equiv = 'content-security-policy'>`, false, true},
		{`<meta/http-equiv=content-security-policy />`, false, true},
		{`<meta http-equiv=content-security-policy/>`, false, false}, // the value takes the '/'
		{`<svg><title><meta http-equiv=Content-Security-Policy></title></svg>`, false, true},
		{`<meta http-equiv="content&#45;security-policy&#x2D;" content=x>`, false, false},
		{`<meta http-equiv="content&#45;security&#X2d;policy" content=x>`, false, true},
		{`<meta http-equiv=" content-security-policy" content=x>`, false, false}, // not trimmed
		{`<meta http-equiv="content-security-policy-report-only" content=x>`, false, false},
		{`<meta http-equiv="content-ſecurity-policy" content=x>`, false, false}, // ASCII case only
		{`<meta http-equiv=refresh http-equiv=content-security-policy>`, false, false},
		{`<meta http-equiv http-equiv=content-security-policy>`, false, false},
		{`<meta xhttp-equiv=content-security-policy http-equivx=content-security-policy>`, false, false},
		{`<meta name="http-equiv" content="content-security-policy">`, false, false},
		{`<!-- <meta http-equiv=content-security-policy> -->`, false, false},
		{`<script>"<meta http-equiv=content-security-policy>"</script>`, false, false},
		{`<noscript><meta http-equiv=content-security-policy></noscript>`, false, false},
		{`<template><meta http-equiv=content-security-policy></template>`, false, false},
		{`<a title="<meta http-equiv=content-security-policy>">`, false, false},
		{`</meta http-equiv=content-security-policy>`, false, false},
	}
	for _, tt := range tests {
		for _, step := range []int{0, 1} {
			m := New(stub)
			if step == 0 {
				m.Write([]byte(tt.page))
			} else {
				for i := range len(tt.page) {
					m.Write([]byte{tt.page[i]})
				}
			}
			assert.Equal(t, tt.stub, m.HasStub(), "stub in %q", tt.page)
			assert.Equal(t, tt.metaCSP, m.MetaCSP(), "meta CSP in %q", tt.page)
		}
	}
}

// TestMatcher: the stub is found after any partial match, as a text search finds it.
func TestMatcher(t *testing.T) {
	for _, text := range []string{"aab", "abab", "aabaaab", "prefinery=window.prefinery||"} {
		for _, hay := range []string{"aaab", "ababab", "aabaabaaab", "aabaaaab", "prefinery=prefinery=window.prefinery||", "abaab"} {
			m := newMatcher(text)
			found := false
			for i := range len(hay) {
				found = m.step(hay[i]) || found
			}
			assert.Equal(t, strings.Contains(hay, text), found, "%q in %q", text, hay)
		}
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

	m = New("")
	first, rest := "<body><noscript><a title='</noscript>", "'></a></noscript><p>x</p>"
	m.Write([]byte(first))
	assert.Equal(t, 16, m.HoldFrom(), "with scripting off, the <a> tag is not finished")
	m.Write([]byte(rest))
	assert.Equal(t, len(first+rest), m.HoldFrom(), "both readings in markup again")
}

// FuzzInsertionPoint: wherever the markup scanner would insert the snippet,
// golang.org/x/net/html's tokenizer reads a </body> end tag starting there,
// and its tree builder, with scripting on and off, makes a script inserted
// there an HTML script (running, where scripts run) without changing the
// rest of the page; the stub and <meta> CSP facts agree with its tree; and
// the scanner's answers do not depend on how the page is split into writes.
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
		const stub = "ab()"
		whole := New(stub)
		whole.Write([]byte(page))
		at := whole.InsertionPoint()

		pieces := New(stub)
		step := int(split%16) + 1
		for i := 0; i < len(page); i += step {
			pieces.Write([]byte(page[i:min(i+step, len(page))]))
		}
		if got := pieces.InsertionPoint(); got != at {
			t.Fatalf("split in %d-byte writes: %d, whole: %d", step, got, at)
		}
		if pieces.HasStub() != whole.HasStub() || pieces.MetaCSP() != whole.MetaCSP() {
			t.Fatalf("split in %d-byte writes: facts (%v, %v), whole: (%v, %v)", step,
				pieces.HasStub(), pieces.MetaCSP(), whole.HasStub(), whole.MetaCSP())
		}
		if !whole.on.unsure && !whole.on.frameset {
			if hasStub, metaCSP := factsOf(page, stub); hasStub != whole.HasStub() || metaCSP != whole.MetaCSP() {
				t.Fatalf("facts (stub %v, meta CSP %v), x/net/html's tree (%v, %v), in %q",
					whole.HasStub(), whole.MetaCSP(), hasStub, metaCSP, page)
			}
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

// benchPage is a layout's page of about 40 KB: head, scripts, a tag
// manager's <noscript>, attributes and text.
var benchPage = []byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Account</title>` +
	`<link rel="stylesheet" href="/app.css"><script src="/app.js" defer></script>` +
	`<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}</script></head>` +
	`<body><noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X" height="0" width="0"></iframe></noscript>` +
	strings.Repeat(`<div class="row"><a href="/item?id=1&amp;x=2" title='An item'>Item</a> <span>some text &amp; more</span></div>`+"\n", 400) +
	`</body></html>`)

// BenchmarkScanner: the scanner over a whole page, in 4 KB writes.
func BenchmarkScanner(b *testing.B) {
	b.SetBytes(int64(len(benchPage)))
	b.ReportAllocs()
	for b.Loop() {
		m := New("prefinery=window.prefinery||function(){(window.prefinery.q=window.prefinery.q||[]).push(arguments)};")
		for i := 0; i < len(benchPage); i += 4096 {
			m.Write(benchPage[i:min(i+4096, len(benchPage))])
		}
		if m.InsertionPoint() < 0 {
			b.Fatal("no insertion point")
		}
	}
}
