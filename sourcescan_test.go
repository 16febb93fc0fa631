package prefinery

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htmlConversionAllowed lists the only functions allowed to convert a string
// to template.HTML: they return the output of executing the kit's own
// html/template (compiled.go), never user data.
var htmlConversionAllowed = map[string]bool{"(*skeleton).render": true}

// macLike matches expressions that hold a MAC or signature.
var macLike = regexp.MustCompile(`(?i)(sig|mac|sum|digest|hash)`)

// TestSourceScan reads the library's own source (not tests) and fails if:
//   - a MAC or signature is compared with == / != or bytes.Equal instead of
//     hmac.Equal (a timing leak);
//   - text/template is imported, or template.JS, JSStr, HTMLAttr, CSS, URL or
//     Srcset conversions appear, or template.HTML outside the compiled
//     renderer (script breakouts);
//   - fmt.Sprintf & co. or a string literal builds a <script> or a
//     prefinery(…) call (scripts come only from snippet.tmpl).
func TestSourceScan(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	scanned := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		findings, err := scanSource(name, src)
		require.NoError(t, err)
		assert.Empty(t, findings, name)
		scanned++
	}
	assert.Greater(t, scanned, 10, "the scan read the package")
}

// TestSourceScanCatches plants one violation of each rule: the scan is not vacuous.
func TestSourceScanCatches(t *testing.T) {
	t.Parallel()
	planted := map[string]string{
		"== on a MAC":          `func f(a, b string) bool { return a == b || gotSig == wantSig }`,
		"bytes.Equal on a MAC": `func f() bool { return bytes.Equal(mac, expectedMAC) }`,
		"template.JS":          `func f(id string) any { return template.JS(id) }`,
		"template.HTML":        `func f(id string) any { return template.HTML("<b>" + id) }`,
		"Sprintf script":       `func f(id string) string { return fmt.Sprintf("prefinery('authenticateUser', {email: '%s'})", id) }`,
		"script literal":       `var s = "<script>"`,
		"text/template":        "import _ \"text/template\"",
	}
	for name, code := range planted {
		findings, err := scanSource("planted.go", []byte("package p\n"+code+"\n"))
		require.NoError(t, err, name)
		assert.NotEmpty(t, findings, "the scan must flag: %s", name)
	}
	findings, err := scanSource("fine.go", []byte("package p\nfunc f(sig string) bool { return len(sig) == 64 && sig != \"\" && hmac.Equal(a, b) }\n"))
	require.NoError(t, err)
	assert.Empty(t, findings, "lengths, empty checks and hmac.Equal are fine")
}

// scanSource returns the rule violations in one Go file.
func scanSource(name string, src []byte) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var findings []string
	flag := func(n ast.Node, format string, args ...any) {
		findings = append(findings, fset.Position(n.Pos()).String()+": "+fmt.Sprintf(format, args...))
	}
	text := func(n ast.Node) string {
		return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
	}
	for _, imp := range f.Imports {
		if imp.Path.Value == `"text/template"` {
			flag(imp, "imports text/template")
		}
	}
	var fn string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			fn = funcName(n)
		case *ast.BinaryExpr:
			if n.Op != token.EQL && n.Op != token.NEQ {
				return true
			}
			if isComparableNonMAC(n.X) || isComparableNonMAC(n.Y) {
				return true // against a length, literal or nil: no secret timing
			}
			for _, side := range []ast.Expr{n.X, n.Y} {
				if macLike.MatchString(text(side)) {
					flag(n, "%s compares %q with %s; use hmac.Equal", fn, text(side), n.Op)
					break
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, _ := sel.X.(*ast.Ident)
			if pkg == nil {
				return true
			}
			switch call := pkg.Name + "." + sel.Sel.Name; call {
			case "bytes.Equal":
				for _, a := range n.Args {
					if macLike.MatchString(text(a)) {
						flag(n, "bytes.Equal on %q; use hmac.Equal", text(a))
						break
					}
				}
			case "template.JS", "template.JSStr", "template.HTMLAttr", "template.CSS", "template.URL", "template.Srcset":
				flag(n, "%s conversion in %s", call, fn)
			case "template.HTML":
				if !htmlConversionAllowed[fn] {
					flag(n, "template.HTML conversion in %s", fn)
				}
			case "fmt.Sprintf", "fmt.Sprint", "fmt.Sprintln", "fmt.Fprintf", "fmt.Appendf":
				for _, a := range n.Args {
					if buildsScript(text(a)) {
						flag(n, "%s builds a script", call)
						break
					}
				}
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if v, err := strconv.Unquote(n.Value); err == nil && buildsScript(v) {
					flag(n, "a string literal holds a script; scripts come from snippet.tmpl")
				}
			}
		}
		return true
	})
	return findings, nil
}

// buildsScript reports whether s looks like part of a rendered script.
func buildsScript(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "<script") || strings.Contains(l, "prefinery(") || strings.Contains(l, "prefinery('")
}

// isComparableNonMAC: lengths, literals, nil and kinds are fine to compare.
func isComparableNonMAC(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return e.Name == "nil" || e.Name == "SignatureLength"
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && (id.Name == "len" || id.Name == "cap") {
			return true
		}
	}
	return false
}

func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	recv := d.Recv.List[0].Type
	star := ""
	if s, ok := recv.(*ast.StarExpr); ok {
		star, recv = "*", s.X
	}
	if id, ok := recv.(*ast.Ident); ok {
		return "(" + star + id.Name + ")." + d.Name.Name
	}
	return d.Name.Name
}
