package frameworktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// AdoptionLines counts what adopting the kit changed in an app kept twice,
// as before (its directory before) and after: the code lines of after's
// non-test Go files that are not in a longest common subsequence with the
// same file's lines in before, line by line as a reader counts them
// (imports and braces included; whitespace normalized, since gofmt realigns
// a new field's neighbours; the package clause and the doc comment above it
// left out, as the two packages differ there by necessity). It returns the
// count and the lines, each prefixed with its file.
func AdoptionLines(t *testing.T, before, after string) (int, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(after, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		name := filepath.Base(f)
		for _, l := range changedLines(codeLines(t, filepath.Join(before, name)), codeLines(t, f)) {
			changed = append(changed, name+": "+l)
		}
	}
	return len(changed), changed
}

// AdoptionWithin logs what adopting the kit changed (AdoptionLines) and
// fails the test when it is more than budget lines.
func AdoptionWithin(t *testing.T, before, after string, budget int) {
	t.Helper()
	total, lines := AdoptionLines(t, before, after)
	for _, l := range lines {
		t.Logf("+ %s", l)
	}
	t.Logf("adopting the kit changed %d Go lines (budget %d)", total, budget)
	if total > budget {
		t.Errorf("adopting the kit changed %d Go lines, over the budget of %d", total, budget)
	}
}

// codeLines returns a Go file's code lines, normalized (see AdoptionLines);
// none for a file before does not have.
func codeLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if i := strings.Index(src, "\npackage "); i >= 0 && strings.HasPrefix(src, "//") {
		src = src[i+1:]
	}
	var out []string
	for _, line := range strings.Split(src, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" || strings.HasPrefix(line, "package ") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// changedLines returns the lines of after that are not in a longest common
// subsequence with before: the lines added or modified.
func changedLines(before, after []string) []string {
	lcs := make([][]int, len(before)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(after)+1)
	}
	for i := len(before) - 1; i >= 0; i-- {
		for j := len(after) - 1; j >= 0; j-- {
			if before[i] == after[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var changed []string
	i, j := 0, 0
	for j < len(after) {
		switch {
		case i < len(before) && before[i] == after[j]:
			i, j = i+1, j+1
		case i < len(before) && lcs[i+1][j] >= lcs[i][j+1]:
			i++
		default:
			changed = append(changed, after[j])
			j++
		}
	}
	return changed
}
