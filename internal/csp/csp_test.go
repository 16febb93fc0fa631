package csp

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const widget = "https://widget.prefinery.com"

// testMerger adds what a Kit with Prefinery's loader adds.
func testMerger() *Merger {
	return NewMerger(map[string][]string{
		"connect-src": {widget}, "frame-src": {widget}, "img-src": {widget}, "style-src": {widget},
	})
}

func TestAmendPolicy(t *testing.T) {
	const n = "NONCE"
	const w = widget
	tests := []struct{ name, in, want string }{
		{"let's go app: default-src and style-src", "default-src 'self'; style-src 'self' fonts.googleapis.com; font-src fonts.gstatic.com",
			"default-src 'self'; style-src 'self' fonts.googleapis.com " + w + "; font-src fonts.gstatic.com; script-src 'self' 'nonce-NONCE' " + w + "; connect-src 'self' " + w + "; frame-src 'self' " + w + "; img-src 'self' " + w},
		{"script-src by host", "script-src 'self'", "script-src 'self' 'nonce-NONCE' " + w},
		{"strict-dynamic: nonce only", "script-src 'nonce-app' 'strict-dynamic'; object-src 'none'", "script-src 'nonce-app' 'strict-dynamic' 'nonce-NONCE'; object-src 'none'"},
		{"unsafe-inline: no nonce, origin only", "script-src 'self' 'unsafe-inline'", "script-src 'self' 'unsafe-inline' " + w},
		{"unsafe-inline beside a nonce is off: nonce added", "script-src 'unsafe-inline' 'nonce-app'", "script-src 'unsafe-inline' 'nonce-app' 'nonce-NONCE' " + w},
		{"'none' is left alone", "script-src 'none'", "script-src 'none'"},
		{"an empty script-src blocks all, as 'none'", "script-src; img-src 'self'", "script-src; img-src 'self' https://widget.prefinery.com"},
		{"an empty default-src blocks all, as 'none'", "default-src", "default-src"},
		{"an empty connect-src gets no widget host", "script-src 'self'; connect-src", "script-src 'self' 'nonce-NONCE' " + w + "; connect-src"},
		{"script-src-elem governs elements", "script-src-elem 'self'; script-src 'self'", "script-src-elem 'self' 'nonce-NONCE' " + w + "; script-src 'self'"},
		{"no script restriction", "frame-ancestors 'none'", "frame-ancestors 'none'"},
		{"default-src 'none' stays 'none'", "default-src 'none'", "default-src 'none'"},
		{"keyword case: the directive kept as written", "SCRIPT-SRC 'SELF' 'Strict-Dynamic'", "SCRIPT-SRC 'SELF' 'Strict-Dynamic' 'nonce-NONCE'"},
		{"duplicate directive: the first counts, the ignored one stays", "script-src 'self'; script-src *", "script-src 'self' 'nonce-NONCE' " + w + "; script-src *"},
		{"already allowed origin not repeated", "script-src " + w, "script-src " + w + " 'nonce-NONCE'"},
		{"trailing ';'", "default-src 'self';", "default-src 'self'; script-src 'self' 'nonce-NONCE' " + w + "; connect-src 'self' " + w + "; frame-src 'self' " + w + "; img-src 'self' " + w + "; style-src 'self' " + w},
		// CSP3 frame-src falls back to child-src before default-src.
		{"child-src 'none' keeps frames blocked", "script-src 'self'; child-src 'none'", "script-src 'self' 'nonce-NONCE' " + w + "; child-src 'none'"},
		{"child-src copied into frame-src", "child-src 'self'; script-src 'self'", "child-src 'self'; script-src 'self' 'nonce-NONCE' " + w + "; frame-src 'self' " + w},
		// Only ASCII whitespace separates; a token with other bytes is ignored by the browser and stays as written.
		{"NBSP: the directive is ignored and stays ignored", "script-src\u00a0'self' 'unsafe-inline'; default-src 'self'",
			"script-src\u00a0'self' 'unsafe-inline'; default-src 'self'; script-src 'self' 'nonce-NONCE' " + w + "; connect-src 'self' " + w + "; frame-src 'self' " + w + "; img-src 'self' " + w + "; style-src 'self' " + w},
		{"tab and form feed separate", "script-src\t'self'\f'unsafe-inline'", "script-src\t'self'\f'unsafe-inline' " + w},
		{"whitespace kept as written", "  script-src 'self'  ;  img-src x  ", "  script-src 'self' 'nonce-NONCE' " + w + "  ;  img-src x " + w + "  "},
		{"not a directive name", "script_src 'unsafe-inline'", "script_src 'unsafe-inline'"},
	}
	m := testMerger()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.AmendPolicy(tt.in, n, widget)
			assert.Equal(t, tt.want, got)
			for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", " * ", " https: ", "data:", "'self'"} {
				if !strings.Contains(tt.in, strings.TrimSpace(bad)) {
					assert.NotContains(t, got+" ", bad, "never weakens the policy")
				}
			}
		})
	}
}

// TestParse follows the spec's tokenisation.
func TestParse(t *testing.T) {
	p := Parse(" Script-Src 'self'\thttps://a.example ; ; img-src; script-src *; x\u00a0y; bad_name z; frame-src\u2003'none'")
	var names []string
	for _, d := range p.Directives() {
		names = append(names, d.Name)
	}
	assert.Equal(t, []string{"script-src", "img-src"}, names)
	assert.Equal(t, []string{"'self'", "https://a.example"}, p.Get("script-src").Sources)
	assert.Empty(t, p.Get("img-src").Sources)
	assert.Nil(t, p.Get("frame-src"), "a token holding a Unicode space is not ASCII: ignored")
}

// TestSandboxes: a sandbox directive in any enforced policy, separated from
// its flags by any ASCII whitespace; report-only policies never sandbox.
func TestSandboxes(t *testing.T) {
	tests := []struct {
		enforced, reportOnly []string
		want                 bool
	}{
		{[]string{"sandbox"}, nil, true},
		{[]string{"sandbox allow-scripts"}, nil, true},
		{[]string{"sandbox\tallow-scripts"}, nil, true},
		{[]string{"sandbox\nallow-scripts"}, nil, true},
		{[]string{"default-src 'self'; SANDBOX"}, nil, true},
		{[]string{"default-src 'self', sandbox allow-scripts"}, nil, true},
		{[]string{"default-src 'self'", "sandbox"}, nil, true},
		{[]string{"default-src 'self'"}, []string{"sandbox"}, false},
		{[]string{"sandboxed-iframes"}, nil, false},
		{nil, nil, false},
	}
	for _, tt := range tests {
		h := http.Header{Enforced: tt.enforced, ReportOnly: tt.reportOnly}
		assert.Equal(t, tt.want, Sandboxes(h), "%q", tt.enforced)
	}
}

func TestHas(t *testing.T) {
	assert.True(t, Has(http.Header{Enforced: {"default-src 'self'"}}))
	assert.True(t, Has(http.Header{ReportOnly: {"default-src 'self'"}}))
	assert.False(t, Has(http.Header{Enforced: {""}}))
	assert.False(t, Has(http.Header{}))
}

// TestAmendHeaders: both headers, every policy in a list, the nonce filled
// in from a cached amendment; the cache stays bounded.
func TestAmendHeaders(t *testing.T) {
	m := testMerger()
	h := http.Header{Enforced: {"script-src 'self', img-src 'none'"}, ReportOnly: {"default-src 'none'"}}
	m.Amend(h, "N1", widget)
	assert.Equal(t, []string{"script-src 'self' 'nonce-N1' " + widget + ", img-src 'none'"}, h[Enforced])
	assert.Equal(t, []string{"default-src 'none'"}, h[ReportOnly])
	h = http.Header{Enforced: {"script-src 'self', img-src 'none'"}}
	m.Amend(h, "N2", widget)
	assert.Equal(t, []string{"script-src 'self' 'nonce-N2' " + widget + ", img-src 'none'"}, h[Enforced], "cached, another nonce")
	for i := range 2 * maxCached {
		m.Amend(http.Header{Enforced: {"script-src 'nonce-app" + strings.Repeat("x", i) + "'"}}, "N", widget)
	}
	assert.LessOrEqual(t, len(m.cache), maxCached)
}

// FuzzAmendPolicy: whatever the policy, the amended one keeps every
// directive the browser applied with all its sources, in order, and adds no
// source that widens it.
func FuzzAmendPolicy(f *testing.F) {
	for _, seed := range []string{"default-src 'self'", "script-src 'none'; child-src 'self'", "script-src\u00a0*; img-src x;;", "a,b;c", "SCRIPT-SRC\t'unsafe-inline'"} {
		f.Add(seed)
	}
	m := testMerger()
	f.Fuzz(func(t *testing.T, policy string) {
		if strings.ContainsRune(policy, ',') {
			return // one policy at a time
		}
		before := Parse(policy).Directives()
		amended := m.AmendPolicy(policy, "NONCE", widget)
		after := Parse(amended).Directives()
		if len(after) < len(before) {
			t.Fatalf("directives lost: %q -> %q", policy, amended)
		}
		for i, d := range before {
			a := after[i]
			if a.Name != d.Name || len(a.Sources) < len(d.Sources) || !slices.Equal(a.Sources[:len(d.Sources)], d.Sources) {
				t.Fatalf("directive %d changed: %q -> %q", i, policy, amended)
			}
			for _, s := range a.Sources[len(d.Sources):] {
				if s != "'nonce-NONCE'" && s != widget {
					t.Fatalf("added %q: %q -> %q", s, policy, amended)
				}
			}
		}
	})
}
