package prefinery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentityWithoutOne(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{Sessions: scs.New()})
	var nilCtx context.Context
	for name, ctx := range map[string]context.Context{"background": context.Background(), "nil": nilCtx} {
		t.Run(name, func(t *testing.T) {
			id, ok := kit.Identity(ctx)
			assert.False(t, ok)
			assert.Zero(t, id)
		})
	}
	_, ok := kit.templateIdentity(nil)
	assert.False(t, ok)
}

func TestWithIdentity(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{Sessions: scs.New()})
	want := Identity{Kind: KindReferralCode, Identifier: "REF42", Signature: strings.Repeat("ab", 32)}
	ctx := kit.WithIdentity(context.Background(), want)
	got, ok := kit.Identity(ctx)
	require.True(t, ok)
	assert.Equal(t, want, got)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	require.NoError(t, err)
	got, ok = kit.templateIdentity(req)
	require.True(t, ok)
	assert.Equal(t, want, got)
	assert.NotContains(t, fmt.Sprint(ctx), "REF42", "the context's description hides the identity")

	//lint:ignore SA1012 a nil parent is the input under test
	fromNil := kit.WithIdentity(nil, want)
	got, ok = kit.Identity(fromNil)
	require.True(t, ok)
	assert.Equal(t, want, got)
	assert.Nil(t, fromNil.Value("other key"), "a nil parent behaves as context.Background()")

	other := newKit(t, Config{Sessions: scs.New()})
	_, ok = other.Identity(ctx)
	assert.False(t, ok, "another Kit does not see this Kit's identity")
}

func TestIdentityMarshalJSON(t *testing.T) {
	t.Parallel()
	sig := strings.Repeat("0f", 32)
	tests := []struct {
		name string
		id   Identity
		want string
	}{
		{"email", Identity{KindEmail, "a@b.c", sig}, `{"email":"a@b.c","signature":"` + sig + `"}`},
		{"referral", Identity{KindReferralCode, "R1", sig}, `{"referral_code":"R1","signature":"` + sig + `"}`},
		{"id", Identity{KindID, "77", sig}, `{"id":"77","signature":"` + sig + `"}`},
		{"html-safe", Identity{KindEmail, "</script>&'\"@x", sig}, `{"email":"\u003c/script\u003e\u0026'\"@x","signature":"` + sig + `"}`},
		{"ascii only", Identity{KindEmail, "Ё\"é@例え.jp", sig}, `{"email":"\u0401\"\u00e9@\u4f8b\u3048.jp","signature":"` + sig + `"}`},
		{"astral plane", Identity{KindEmail, "👩@x", sig}, `{"email":"\ud83d\udc69@x","signature":"` + sig + `"}`},
		{"line separators", Identity{KindEmail, "a\u2028b\u2029c", sig}, `{"email":"a\u2028b\u2029c","signature":"` + sig + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(b))
			var back map[string]string
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Len(t, back, 2)
			assert.Equal(t, tt.id.Identifier, back[string(tt.id.Kind)], "decodes to the exact identifier")
		})
	}
	bad := []Identity{
		{Kind: "user", Identifier: "a", Signature: sig},
		{Kind: KindEmail, Identifier: "a\xff", Signature: sig},
		{Kind: KindEmail, Identifier: "", Signature: sig},
		{Kind: KindEmail, Identifier: "a@b.c", Signature: "</script><script>alert(1)</script>"},
		{Kind: KindEmail, Identifier: "a@b.c", Signature: strings.ToUpper(sig)},
		{Kind: KindEmail, Identifier: "a@b.c", Signature: sig[:63]},
		{Kind: KindEmail, Identifier: "a@b.c"},
	}
	for _, id := range bad {
		_, err := json.Marshal(id)
		assert.ErrorIs(t, err, ErrInvalidIdentifier, "%q %q", id.Identifier, id.Signature)
	}
}

func TestIdentityPrintingHidesSignature(t *testing.T) {
	t.Parallel()
	sig := strings.Repeat("9a", 32)
	id := Identity{KindEmail, "pat@example.com", sig}
	for _, verb := range []string{"%v", "%+v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(verb, id), sig, verb)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "id", id)
	assert.NotContains(t, buf.String(), sig)
	assert.NotContains(t, buf.String(), "pat@example.com", "slog shows no identifier")
}

func TestIdentifierProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"ascii email", "user@example.com", ""},
		{"unicode", "Ünïcødé@例え.jp", ""},
		{"emoji zwj", "👩‍👩‍👧@x.com", ""},
		{"kelvin sign kept", "\u212a@x.com", ""},
		{"line separators", "a\u2028b\u2029", ""},
		{"quotes and tags", `</script>"'<!--`, ""},
		{"spaces kept", " a@b.c ", ""},
		{"max length", strings.Repeat("a", 320), ""},
		{"empty", "", "empty"},
		{"over max", strings.Repeat("a", 321), "over the limit"},
		{"invalid", "a\xffb", "not valid UTF-8"},
		{"overlong", "\xc0\xaf", "not valid UTF-8"},
		{"surrogate", "\xed\xa0\x80", "not valid UTF-8"},
		{"truncated", "a\xe2\x82", "not valid UTF-8"},
		{"nul", "a\x00", "control"},
		{"tab", "a\tb", "control"},
		{"del", "a\x7f", "control"},
		{"c1", "a\u009b", "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := identifierProblem(tt.in, defaultMaxIdentifierLength)
			if tt.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tt.want)
			}
		})
	}
}

func TestIsControlIsUnicodes(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if isControl(r) != unicode.IsControl(r) {
			t.Fatalf("isControl(%U) = %t, unicode.IsControl says %t", r, isControl(r), unicode.IsControl(r))
		}
	}
}
