package prefinery

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secretFragments are the pieces of a secret, and of the HMAC pads derived
// from it, that must never be printed, in every encoding a formatter uses.
func secretFragments(secret string) []string {
	frags := []string{secret, secret[:12]}
	for _, pad := range []byte{0, 0x36, 0x5c} { // the key, and HMAC's inner and outer pads
		b := []byte(secret[:10])
		for i := range b {
			b[i] ^= pad
		}
		frags = append(frags,
			fmt.Sprintf("%x", b), fmt.Sprintf("%X", b),
			strings.Trim(fmt.Sprint(b), "[]"), // decimal bytes, as %v prints a []byte
			fmt.Sprintf("%q", b)[1:12])
	}
	return frags
}

func assertNoSecret(t *testing.T, out string, how string) {
	t.Helper()
	// The warm-up's signature (its MAC stays in a pooled state's buffer) is
	// derived from the secret too.
	warm := naiveSign(testSecretText, warmIdentifier)[:16]
	frags := append(secretFragments(testSecretText), warm, fmt.Sprintf("%x", warm[:8]))
	for _, frag := range frags {
		if !assert.NotContains(t, out, frag, "%s leaked the secret", how) {
			return
		}
	}
}

// appWithPrivateFields holds the kit's values the way an app's own struct
// does: in unexported fields, where fmt cannot call their methods.
type appWithPrivateFields struct {
	cfg      Config
	secret   Secret
	kit      *Kit
	kitValue any // a Kit copied by value
	name     string
}

// AppWithPublicFields holds them in exported fields.
type AppWithPublicFields struct {
	Cfg    Config
	Secret Secret
	Kit    *Kit
}

// TestSecretNeverPrinted prints every value that holds the secret, held
// directly, by pointer, and in exported and unexported fields, through every
// fmt verb, log, slog, encoding/json, encoding/xml, errors and panics.
// warmIdentifier is signed before the printing test, so the Secret's pooled
// HMAC state holds its MAC.
const warmIdentifier = "warm@example.com"

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	cfg := Config{Secret: testSecret, Sessions: scs.New(), ProjectKey: "abc123"}
	kit, err := New(cfg)
	require.NoError(t, err)
	kit.Sign(warmIdentifier) // fill the HMAC pool (its states hold the pads and the last MAC)
	kitValue := reflect.ValueOf(kit).Elem().Interface()
	secret := testSecret
	values := map[string]any{
		"Secret":                    testSecret,
		"*Secret":                   &secret,
		"Config":                    cfg,
		"*Config":                   &cfg,
		"*Kit":                      kit,
		"Kit by value":              kitValue,
		"app struct, private":       appWithPrivateFields{cfg: cfg, secret: testSecret, kit: kit, kitValue: kitValue, name: "shop"},
		"*app struct, private":      &appWithPrivateFields{cfg: cfg, secret: testSecret, kit: kit, kitValue: kitValue},
		"app struct, public":        AppWithPublicFields{Cfg: cfg, Secret: testSecret, Kit: kit},
		"slice of configs":          []Config{cfg, cfg},
		"map of secrets":            map[string]Secret{"identity": testSecret},
		"app struct in a interface": any(appWithPrivateFields{cfg: cfg}),
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
				assertNoSecret(t, fmt.Sprintf(verb, v), verb)
			}
			var logged bytes.Buffer
			log.New(&logged, "", 0).Printf("%+v %v", v, v)
			assertNoSecret(t, logged.String(), "log.Printf")
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

func TestSecretPrintsRedacted(t *testing.T) {
	t.Parallel()
	for _, verb := range []string{"%v", "%s", "%#v"} {
		assert.Equal(t, "[redacted]", fmt.Sprintf(verb, testSecret), verb)
	}
	b, err := json.Marshal(struct{ S Secret }{testSecret})
	require.NoError(t, err)
	assert.JSONEq(t, `{"S":"[redacted]"}`, string(b))
	cfg := Config{EndpointOnly: true, Secret: testSecret, Sessions: scs.New(), SessionKey: "userEmail"}
	assert.Contains(t, fmt.Sprintf("%+v", cfg), "Secret:[redacted]")
	assert.Contains(t, fmt.Sprintf("%+v", cfg), "SessionKey:userEmail", "settings other than the secret stay visible")
}

func TestConfigErrorsNeverContainSecret(t *testing.T) {
	t.Parallel()
	bad := []Config{
		{Secret: testSecret}, // no lookup
		{Secret: testSecret, Sessions: scs.New(), Kind: "uuid"}, // bad kind
		{Sessions: scs.New()}, // no secret
		{Secret: testSecret, Sessions: scs.New(), ProjectKey: "x\"y"},
	}
	for _, cfg := range bad {
		_, err := New(cfg)
		require.Error(t, err)
		assertNoSecret(t, err.Error(), "New's error")
		assert.True(t, errors.Is(err, ErrInvalidConfig))
		assert.False(t, strings.Contains(err.Error(), "%!"), "well-formed message: %s", err)
	}
}
