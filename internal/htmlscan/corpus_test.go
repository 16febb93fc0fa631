package htmlscan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// corpusDir is the html5lib-tests data (tree-construction and tokenizer
// inputs): $HTML5LIB_TESTS, or beside the repository as the project's shared
// folder keeps it.
func corpusDir() string {
	if dir := os.Getenv("HTML5LIB_TESTS"); dir != "" {
		return dir
	}
	return "../../../shared/html5lib-tests"
}

// corpus returns every input of html5lib-tests: the #data of each
// tree-construction test and the input of each tokenizer test.
func corpus(t *testing.T) []string {
	t.Helper()
	corpusDir := corpusDir()
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("html5lib-tests not found at %s (the project's shared/html5lib-tests, data only; or set HTML5LIB_TESTS): %v", corpusDir, err)
	}
	var pages []string
	dats, err := filepath.Glob(filepath.Join(corpusDir, "tree-construction", "*.dat"))
	require.NoError(t, err)
	for _, f := range dats {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, test := range strings.Split(string(b), "#data\n")[1:] {
			data, _, ok := strings.Cut("\n"+test, "\n#errors")
			require.True(t, ok, "%s: a test without #errors", f)
			data = strings.TrimPrefix(data, "\n")
			pages = append(pages, data)
		}
	}
	tests, err := filepath.Glob(filepath.Join(corpusDir, "tokenizer", "*.test"))
	require.NoError(t, err)
	for _, f := range tests {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var file struct {
			Tests []struct {
				Input         string `json:"input"`
				DoubleEscaped bool   `json:"doubleEscaped"`
			} `json:"tests"`
		}
		require.NoError(t, json.Unmarshal(b, &file), f)
		for _, tt := range file.Tests {
			input := tt.Input
			if tt.DoubleEscaped {
				if s, err := strconv.Unquote(`"` + strings.ReplaceAll(input, `"`, `\"`) + `"`); err == nil {
					input = s
				}
			}
			pages = append(pages, input)
		}
	}
	// Each input also as the body of a page that ends as a layout ends it:
	// whatever the input left open, the kit's place is before this </body>.
	for _, p := range slices.Clone(pages) {
		pages = append(pages, p+"</body></html>")
	}
	return pages
}

// marker is what the test inserts: a script the oracle can find.
const marker = "<script>prefineryMarker()</script>"

// verdict says what inserting marker at a page's offset does, according to
// golang.org/x/net/html's tree builder, with scripting on and with scripting
// off (a sandboxed iframe without allow-scripts): "" when in both the marker
// is one HTML script (running, where scripts run) and the page's own tree is
// otherwise unchanged, else why not.
func verdict(page string, at int) string {
	if why := verdictScripting(page, at, true); why != "" {
		return why
	}
	if why := verdictScripting(page, at, false); why != "" {
		return "scripting off: " + why
	}
	return ""
}

func verdictScripting(page string, at int, scripting bool) string {
	opt := html.ParseOptionEnableScripting(scripting)
	before, err := html.ParseWithOptions(strings.NewReader(page), opt)
	if err != nil {
		return "unparsable"
	}
	after, err := html.ParseWithOptions(strings.NewReader(page[:at]+marker+page[at:]), opt)
	if err != nil {
		return "unparsable with the marker"
	}
	var found []*html.Node
	var textual bool
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" && n.FirstChild != nil && n.FirstChild.Data == "prefineryMarker()" {
			found = append(found, n)
		}
		if n.Type == html.TextNode && strings.Contains(n.Data, "prefineryMarker()") &&
			(n.Data != "prefineryMarker()" || n.Parent == nil || n.Parent.Data != "script") {
			textual = true
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(after)
	switch {
	case textual:
		return "the script became text"
	case len(found) != 1:
		return "no script element (or several)"
	}
	script := found[0]
	if script.Namespace != "" {
		return "a " + script.Namespace + " script"
	}
	for p := script.Parent; p != nil && p.Type == html.ElementNode; p = p.Parent {
		if p.Namespace != "" {
			return "inside " + p.Namespace + " content"
		}
		if p.DataAtom == atom.Template {
			return "inside a template"
		}
	}
	script.Parent.RemoveChild(script)
	var a, b bytes.Buffer
	_ = html.Render(&a, before)
	_ = html.Render(&b, after)
	if a.String() != b.String() {
		return "the page's tree changed"
	}
	return ""
}

// lastBodyEndTag is the offset of the last </body> end tag x/net/html's
// tokenizer reads in page, or -1.
func lastBodyEndTag(page string) int {
	z := html.NewTokenizer(strings.NewReader(page))
	last, offset := -1, 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return last
		}
		if tt == html.EndTagToken {
			if name, _ := z.TagName(); string(name) == "body" {
				last = offset
			}
		}
		offset += len(z.Raw())
	}
}

// scan runs the scanner over page in writes of the given sizes (0: whole).
func scan(page string, sizes func() int) int {
	m := New("")
	if sizes == nil {
		m.Write([]byte(page))
		return m.InsertionPoint()
	}
	for i := 0; i < len(page); {
		n := min(sizes(), len(page)-i)
		m.Write([]byte(page[i : i+n]))
		i += n
	}
	return m.InsertionPoint()
}

// TestCorpus runs the scanner over every html5lib input, whole, byte by
// byte and in random chunks: the answer never depends on the writes; where
// it inserts, x/net/html's tree builder, with scripting on and with
// scripting off, makes the inserted script an HTML script (running, where
// scripts run) and leaves the rest of the tree as it was. It logs how many
// pages with a </body> where insertion would have been safe it stays out of.
func TestCorpus(t *testing.T) {
	pages := corpus(t)
	require.Greater(t, len(pages), 7000, "the corpus, each input alone and closed by a layout")
	rng := rand.New(rand.NewPCG(1, 2))
	var inserted, unsafe, safeMissed, withBody int
	reasons := map[string]int{}
	for i, page := range pages {
		at := scan(page, nil)
		require.Equal(t, at, scan(page, func() int { return 1 }), "byte by byte: page %d %q", i, page)
		require.Equal(t, at, scan(page, func() int { return 1 + rng.IntN(17) }), "random chunks: page %d %q", i, page)
		body := lastBodyEndTag(page)
		if body >= 0 {
			withBody++
		}
		if at < 0 {
			if body >= 0 && verdict(page, body) == "" {
				safeMissed++
			}
			continue
		}
		inserted++
		if why := verdict(page, at); why != "" {
			unsafe++
			reasons[why]++
			if unsafe <= 20 {
				t.Errorf("page %d: inserting at %d: %s\n%q", i, at, why, page)
			}
		}
	}
	t.Logf("%d pages, %d with a </body> end tag; inserted into %d, unsafely into %d %v; stayed out of %d where it was safe (%.1f%% of those with a </body>)",
		len(pages), withBody, inserted, unsafe, reasons, safeMissed, 100*float64(safeMissed)/float64(max(withBody, 1)))
	assert.Zero(t, unsafe)
}

// factsOf is what x/net/html's tree (scripting on) says the Scanner's facts
// are: an HTML script whose text holds stub; an HTML <meta>, not in a
// template's contents, whose first http-equiv attribute is
// content-security-policy in any ASCII case.
func factsOf(page, stub string) (hasStub, metaCSP bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return false, false
	}
	var walk func(n *html.Node, inTemplate bool)
	walk = func(n *html.Node, inTemplate bool) {
		if n.Type == html.ElementNode && n.Namespace == "" {
			switch n.DataAtom {
			case atom.Script:
				var text strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					text.WriteString(c.Data)
				}
				hasStub = hasStub || stub != "" && strings.Contains(text.String(), stub)
			case atom.Meta:
				for _, a := range n.Attr {
					if a.Namespace == "" && a.Key == "http-equiv" {
						metaCSP = metaCSP || !inTemplate && asciiLower(a.Val) == "content-security-policy"
						break
					}
				}
			case atom.Template:
				inTemplate = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inTemplate)
		}
	}
	walk(doc, false)
	return hasStub, metaCSP
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

// TestCorpusFacts: over every html5lib input (and each with a <meta> CSP
// and a script put before it), the stub and <meta> CSP facts agree with
// x/net/html's tree wherever the scanner follows the page (not unsure, no
// frameset, which ignores scripts' start tags), whole and byte by byte.
func TestCorpusFacts(t *testing.T) {
	pages := corpus(t)
	for _, p := range slices.Clone(pages) {
		pages = append(pages, "<meta http-equiv=Content-Security-Policy content=x><script>ab()</script>"+p)
	}
	var checked, stubs, metas, differ int
	for i, page := range pages {
		for _, stub := range []string{"a", "()", "ab()"} {
			whole, bytewise := New(stub), New(stub)
			whole.Write([]byte(page))
			for j := range len(page) {
				bytewise.Write([]byte{page[j]})
			}
			require.Equal(t, whole.HasStub(), bytewise.HasStub(), "page %d %q", i, page)
			require.Equal(t, whole.MetaCSP(), bytewise.MetaCSP(), "page %d %q", i, page)
			if whole.on.unsure || whole.on.frameset {
				continue
			}
			checked++
			hasStub, metaCSP := factsOf(page, stub)
			if hasStub != whole.HasStub() || metaCSP != whole.MetaCSP() {
				differ++
				if differ <= 20 {
					t.Errorf("page %d, stub %q: scanner (stub %v, meta CSP %v), x/net/html (%v, %v)\n%q",
						i, stub, whole.HasStub(), whole.MetaCSP(), hasStub, metaCSP, page)
				}
			}
			stubs += b2i(hasStub)
			metas += b2i(metaCSP)
		}
	}
	t.Logf("%d checks: %d with the stub in a script, %d with a <meta> CSP; %d differ", checked, stubs, metas, differ)
	assert.Zero(t, differ)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
