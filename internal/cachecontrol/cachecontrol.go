// Package cachecontrol reads Cache-Control header values (RFC 9111 §5.2):
// the kit checks that Config.CacheControl keeps every cache from storing a
// signed response, and whether a page may be stored by a shared cache.
package cachecontrol

import (
	"fmt"
	"strings"
)

// Directive is one directive of a Cache-Control value.
type Directive struct {
	Name     string // lowercased
	Value    string // unquoted
	HasValue bool   // "name=value", even when the value is empty
	Raw      string // as written
}

// Parse splits a Cache-Control value by the RFC 9111 grammar:
// a comma-separated list of token [ "=" ( token / quoted-string ) ], where a
// quoted string may hold commas and backslash escapes.
func Parse(v string) ([]Directive, error) {
	var out []Directive
	i := 0
	for i < len(v) {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == ',') {
			i++
		}
		if i == len(v) {
			break
		}
		start := i
		for i < len(v) && isTokenChar(v[i]) {
			i++
		}
		if i == start {
			return nil, fmt.Errorf("unexpected %q in Cache-Control", v[i])
		}
		d := Directive{Name: strings.ToLower(v[start:i])}
		if i < len(v) && v[i] == '=' {
			i++
			d.HasValue = true
			if i < len(v) && v[i] == '"' {
				var b strings.Builder
				i++
				for ; i < len(v) && v[i] != '"'; i++ {
					if v[i] == '\\' && i+1 < len(v) {
						i++
					}
					b.WriteByte(v[i])
				}
				if i == len(v) {
					return nil, fmt.Errorf("unterminated quoted string in Cache-Control")
				}
				i++
				d.Value = b.String()
			} else {
				vs := i
				for i < len(v) && isTokenChar(v[i]) {
					i++
				}
				d.Value = v[vs:i]
			}
		}
		d.Raw = strings.TrimSpace(v[start:i])
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i < len(v) && v[i] != ',' {
			return nil, fmt.Errorf("unexpected %q after %q in Cache-Control", v[i], d.Raw)
		}
		out = append(out, d)
	}
	return out, nil
}

// SharedCacheMayStore reports whether a response with this Cache-Control
// value may be stored by a shared cache (a CDN, a proxy): only a bare private
// or no-store forbids it (RFC 9111 §3). A value that does not parse may be
// stored: caches read such values leniently (nginx's proxy_cache takes
// "public; max-age=600" as public), so the kit fails closed and makes the
// page private (Private).
func SharedCacheMayStore(value string) bool {
	directives, err := Parse(value)
	if err != nil {
		return true
	}
	for _, d := range directives {
		if (d.Name == "private" || d.Name == "no-store") && !d.HasValue {
			return false
		}
	}
	return true
}

// Private returns value made private to one browser: a bare private
// directive added, and public and s-maxage (which address shared caches)
// removed; everything else is kept as written. A value that does not parse
// becomes "private".
func Private(value string) string {
	directives, err := Parse(value)
	if err != nil {
		return "private"
	}
	out := []string{"private"}
	for _, d := range directives {
		switch {
		case d.Name == "public" || d.Name == "s-maxage":
		case d.Name == "private" && !d.HasValue:
		default:
			out = append(out, d.Raw)
		}
	}
	return strings.Join(out, ", ")
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
