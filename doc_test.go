package prefinery

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// packageDoc parses the package's non-test files with go/doc.
func packageDoc(t *testing.T) *doc.Package {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		require.NoError(t, err)
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/prefinerykit/prefinery")
	require.NoError(t, err)
	return p
}

// exportBudget is the most exported identifiers (functions, methods, types,
// constants, variables; not struct fields) the package may have. Raise it only
// in the issue that adds a name, with the reason there.
const exportBudget = 34

// TestExportBudget keeps the API small: it counts the exported names with
// go/doc and fails above the budget, listing them.
func TestExportBudget(t *testing.T) {
	t.Parallel()
	p := packageDoc(t)
	var names []string
	values := func(prefix string, vs []*doc.Value) {
		for _, v := range vs {
			for _, n := range v.Names {
				if token.IsExported(n) {
					names = append(names, prefix+n)
				}
			}
		}
	}
	values("const ", p.Consts)
	values("var ", p.Vars)
	for _, f := range p.Funcs {
		names = append(names, "func "+f.Name)
	}
	for _, typ := range p.Types {
		names = append(names, "type "+typ.Name)
		values("const ", typ.Consts)
		values("var ", typ.Vars)
		for _, f := range typ.Funcs {
			names = append(names, "func "+f.Name)
		}
		for _, m := range typ.Methods {
			names = append(names, "method "+typ.Name+"."+m.Name)
		}
	}
	t.Logf("%d exported names (budget %d)", len(names), exportBudget)
	assert.LessOrEqual(t, len(names), exportBudget, "exported names over the budget:\n%s", strings.Join(names, "\n"))
}

// TestEveryExportedNameIsDocumented: every exported name has a doc comment
// that starts with its name, and the package overview has its sections.
func TestEveryExportedNameIsDocumented(t *testing.T) {
	t.Parallel()
	p := packageDoc(t)

	for _, section := range []string{"# Quick start", "# Sessions", "# Templates", "# Single-page apps", "# Security"} {
		assert.Contains(t, p.Doc, strings.TrimPrefix(section, "# ")+"\n", "package doc section %s", section)
	}
	assert.Contains(t, p.Doc, "[Kit.Middleware]", "doc links")

	checkStartsWith := func(kind, name, comment string) {
		t.Helper()
		if !assert.NotEmpty(t, strings.TrimSpace(comment), "%s %s has no doc comment", kind, name) {
			return
		}
		first := strings.Fields(comment)[0]
		if first == "A" || first == "An" || first == "The" {
			first = strings.Fields(comment)[1]
		}
		assert.Equal(t, name, first, "the doc of %s %s starts with its name", kind, name)
	}
	checkValues := func(values []*doc.Value) {
		for _, v := range values {
			for _, name := range v.Names {
				if !token.IsExported(name) {
					continue
				}
				comment := v.Doc
				for _, spec := range v.Decl.Specs {
					vs := spec.(*ast.ValueSpec)
					for _, n := range vs.Names {
						if n.Name == name && vs.Doc != nil {
							comment = vs.Doc.Text()
						}
						if n.Name == name && comment == "" && vs.Comment != nil {
							comment = name + " " + vs.Comment.Text() // a line comment on a grouped constant
						}
					}
				}
				if v.Doc != "" && len(v.Names) > 1 {
					continue // a documented group
				}
				checkStartsWith("value", name, comment)
			}
		}
	}
	checkValues(p.Consts)
	checkValues(p.Vars)
	for _, f := range p.Funcs {
		checkStartsWith("func", f.Name, f.Doc)
	}
	for _, typ := range p.Types {
		checkStartsWith("type", typ.Name, typ.Doc)
		checkValues(typ.Consts)
		checkValues(typ.Vars)
		for _, f := range typ.Funcs {
			checkStartsWith("func", f.Name, f.Doc)
		}
		for _, m := range typ.Methods {
			checkStartsWith("method "+typ.Name+".", m.Name, m.Doc)
		}
	}
}
