package prefinery

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secretFragments are the pieces of testSecret that must never be printed,
// in every encoding a formatter might use.
func secretFragments(secret string) []string {
	return []string{
		secret,
		secret[:12],
		fmt.Sprintf("%x", secret)[:24],
		fmt.Sprintf("%X", secret)[:24],
		fmt.Sprint([]byte(secret))[:24],
	}
}

func assertNoSecret(t *testing.T, out string, how string) {
	t.Helper()
	for _, frag := range secretFragments(testSecret) {
		assert.NotContains(t, out, frag, "%s leaked the secret", how)
	}
}

// TestSecretRedaction prints every type that holds the secret (or its HMAC
// pads) through every verb and encoder.
func TestSecretRedaction(t *testing.T) {
	signer, err := NewSigner(testSecret)
	require.NoError(t, err)
	cfg := Config{Secret: testSecret, Sessions: scs.New()}
	kit, err := New(cfg)
	require.NoError(t, err)
	type wrapper struct {
		Cfg    Config
		Signer *Signer
		Kit    *Kit
	}
	values := map[string]any{
		"Signer":        signer,
		"Config":        cfg,
		"*Config":       &cfg,
		"Kit":           kit,
		"nested struct": wrapper{Cfg: cfg, Signer: signer, Kit: kit},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
				assertNoSecret(t, fmt.Sprintf(verb, v), verb)
			}
			var text, js bytes.Buffer
			slog.New(slog.NewTextHandler(&text, nil)).Info("m", "v", v)
			slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "v", v)
			assertNoSecret(t, text.String(), "slog text")
			assertNoSecret(t, js.String(), "slog JSON")
			if b, err := json.Marshal(v); err == nil {
				assertNoSecret(t, string(b), "json.Marshal")
			}
			if b, err := xml.Marshal(v); err == nil {
				assertNoSecret(t, string(b), "xml.Marshal")
			}
			assertNoSecret(t, fmt.Errorf("wrapped: %v", v).Error(), "an error")
			assertNoSecret(t, panicText(v), "a panic")
		})
	}
}

func panicText(v any) (out string) {
	defer func() { out = fmt.Sprint(recover()) }()
	panic(v)
}

func TestRedactedFormsAreUseful(t *testing.T) {
	cfg := Config{Secret: testSecret, Sessions: scs.New(), SessionKey: "userEmail", Kind: Email}
	assert.Contains(t, fmt.Sprint(cfg), "[redacted]")
	assert.Contains(t, fmt.Sprint(cfg), `"userEmail"`, "non-secret settings stay visible")
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.True(t, json.Valid(b))
}

func TestConfigErrorsNeverContainSecret(t *testing.T) {
	bad := []Config{
		{Secret: testSecret}, // no lookup
		{Secret: testSecret, Sessions: scs.New(), Kind: "uuid"}, // bad kind
		{Secret: testSecret[:10], Sessions: scs.New()},          // too short
		{Secret: testSecret, Sessions: scs.New(), ProjectKey: "x\"y"},
	}
	for _, cfg := range bad {
		_, err := New(cfg)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), testSecret[:10])
		assert.True(t, errors.Is(err, ErrInvalidConfig))
		assert.False(t, strings.Contains(err.Error(), "%!"), "well-formed message: %s", err)
	}
}
