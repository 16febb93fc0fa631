package prefinery_test

import (
	"errors"
	"go/build"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notLibraries are the directories whose packages no user imports: their
// package docs are not checked, nor anything below them.
var notLibraries = map[string]bool{"examples": true, "e2e": true, "bench": true, "readmecheck": true, "testdata": true}

// TestPackageDocsHoldNoCode: no library package's doc comment (the comment
// before `package`) holds an indented code block, which `go doc` would show
// as code no compiler checks (webhook's did, and it rotted). Code belongs in
// Example functions; a package doc points at them. It walks every module in
// the repository (the nested go.mod directories too) and names each file
// whose package doc carries a block. The control case plants a package doc
// with a code block and checks that it is flagged.
func TestPackageDocsHoldNoCode(t *testing.T) {
	t.Parallel()
	t.Run("control", func(t *testing.T) {
		dir := t.TempDir()
		write := func(name, src string) {
			t.Helper()
			if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for sub, src := range map[string]string{
			"clean/clean.go":   "// Package clean shows its use in [Example].\npackage clean\n",
			"code/code.go":     "// Package code shows its use:\n//\n//\tx := code.New()\n//\t_ = x\npackage code\n",
			"spaces/doc.go":    "// Package spaces indents with spaces:\n//\n//     spaces.Do()\npackage spaces\n",
			"sql/sql.go":       "// Package sql keeps its schema:\n//\n//\tCREATE TABLE t (k text PRIMARY KEY);\npackage sql\n",
			"cmd/tool/main.go": "// Tool is run as:\n//\n//\ttool -flag\npackage main\n",
			"examples/x/x.go":  "// Package x is an example app:\n//\n//\tx.Run()\npackage x\n",
		} {
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(sub)), 0o755); err != nil {
				t.Fatal(err)
			}
			write(sub, src)
		}
		got, err := packageDocsWithCode(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{filepath.Join(dir, "code/code.go"), filepath.Join(dir, "spaces/doc.go")}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("flagged %q, want %q (a package main and examples/ are not libraries; SQL is not Go)", got, want)
		}
	})
	t.Run("repository", func(t *testing.T) {
		got, err := packageDocsWithCode(".")
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range got {
			t.Errorf("%s: the package doc holds a code block; write it as an Example function and point to it", file)
		}
	})
}

// packageDocsWithCode walks root and returns, in walk order, the files
// whose package doc comment holds a code block, for every library package
// (not package main, not below a directory in notLibraries). Files the
// build would ignore (a //go:build ignore generator, say) are left out.
func packageDocsWithCode(root string) ([]string, error) {
	var flagged []string
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if dir != root && (notLibraries[name] || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(dir, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return err
		}
		if pkg.Name == "main" {
			return nil
		}
		fset := token.NewFileSet()
		for _, file := range pkg.GoFiles {
			path := filepath.Join(dir, file)
			f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				return err
			}
			if f.Doc != nil && holdsCode(new(comment.Parser).Parse(f.Doc.Text()).Content) {
				flagged = append(flagged, path)
			}
		}
		return nil
	})
	return flagged, err
}

// holdsCode reports whether blocks, as go/doc parses a comment, include a
// code block (an indented span, which `go doc` prints as code) that is Go:
// Go belongs in Example functions, which the compiler checks. A block that
// is not Go (a table, a schema in SQL) is text the package states.
func holdsCode(blocks []comment.Block) bool {
	for _, b := range blocks {
		switch b := b.(type) {
		case *comment.Code:
			if isGo(b.Text) {
				return true
			}
		case *comment.List:
			for _, item := range b.Items {
				if holdsCode(item.Content) {
					return true
				}
			}
		}
	}
	return false
}

// isGo reports whether text parses as Go statements or declarations.
func isGo(text string) bool {
	fset := token.NewFileSet()
	if _, err := parser.ParseFile(fset, "", "package p\nfunc _() {\n"+text+"\n}\n", 0); err == nil {
		return true
	}
	_, err := parser.ParseFile(fset, "", "package p\n"+text, 0)
	return err == nil
}
