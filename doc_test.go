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

// TestEveryExportedNameIsDocumented walks the package with go/doc: every
// exported name has a doc comment that starts with its name, every type
// states its concurrency safety, and the package overview has its sections.
func TestEveryExportedNameIsDocumented(t *testing.T) {
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

	for _, section := range []string{"# Quick start", "# Sessions", "# Templates", "# Single-page apps", "# Security", "# Performance", "# Concurrency"} {
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
		lower := strings.ToLower(typ.Doc)
		assert.True(t, strings.Contains(lower, "concurren") || strings.Contains(lower, "goroutine"),
			"the doc of type %s states its concurrency safety", typ.Name)
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
