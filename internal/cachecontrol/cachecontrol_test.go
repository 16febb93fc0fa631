package cachecontrol

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []string // name=value, value "" when bare
	}{
		{"no-store", []string{"no-store"}},
		{" Private , NO-STORE ", []string{"private", "no-store"}},
		{`public, max-age=600, private="Set-Cookie"`, []string{"public", "max-age=600", "private=Set-Cookie"}},
		{`x="a, private, b"`, []string{"x=a, private, b"}},
		{`x="quote \" inside", no-store`, []string{`x=quote " inside`, "no-store"}},
		{",,no-cache,,", []string{"no-cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ds, err := Parse(tt.in)
			require.NoError(t, err)
			var got []string
			for _, d := range ds {
				if d.HasValue {
					got = append(got, d.Name+"="+d.Value)
				} else {
					got = append(got, d.Name)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
	for _, bad := range []string{`x="unterminated`, `no-store "x"`, `=1`, `a=b=c`} {
		_, err := Parse(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestSharedCacheMayStore(t *testing.T) {
	for value, want := range map[string]bool{
		"public, max-age=600":          true,
		"":                             true,
		"max-age=0":                    true,
		"private":                      false,
		"no-store":                     false,
		`private="Set-Cookie", public`: true,
		"Public, PRIVATE":              false,
		`x="unterminated`:              true, // read leniently by caches: the kit fails closed
		"public; max-age=600":          true,
		"private; max-age=600":         true, // not a bare private by the grammar
	} {
		assert.Equal(t, want, SharedCacheMayStore(value), "%q", value)
	}
}

func TestPrivate(t *testing.T) {
	for value, want := range map[string]string{
		"public, max-age=600": "private, max-age=600",
		"":                    "private",
		"max-age=60, s-maxage=3600, must-revalidate": "private, max-age=60, must-revalidate",
		"private":                      "private",
		`private="Set-Cookie", Public`: `private, private="Set-Cookie"`,
		`x="unterminated`:              "private",
		"public; max-age=600":          "private",
	} {
		got := Private(value)
		assert.Equal(t, want, got, "%q", value)
		assert.False(t, SharedCacheMayStore(got), "%q", got)
	}
}
