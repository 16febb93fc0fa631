package prefinery

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	user := func(*http.Request) (string, bool) { return "", false }
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" means valid
	}{
		{"minimal sessions", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm}, ""},
		{"minimal user func", Config{EndpointOnly: true, Secret: testSecret, User: user}, ""},
		{"app's own session key", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, SessionKey: "userEmail"}, ""},
		{"every kind", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, Kind: KindReferralCode}, ""},
		{"no secret", Config{Sessions: sm, EndpointOnly: true}, "Secret: none given, and invalid secret: the environment variable PREFINERY_IDENTITY_SECRET is not set"},
		{"no loader", Config{Secret: testSecret, Sessions: sm}, "ProjectKey: the embed snippet needs it"},
		{"no lookup: the app names the user with Login", Config{EndpointOnly: true, Secret: testSecret}, ""},
		{"both lookups", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, User: user}, "not both"},
		{"session key without sessions", Config{EndpointOnly: true, Secret: testSecret, User: user, SessionKey: "k"}, "SessionKey"},
		{"unknown kind", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, Kind: "Email"}, "Kind"},
		{"negative max", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, MaxIdentifierLength: -1}, "MaxIdentifierLength"},
		{"huge max", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, MaxIdentifierLength: 1 << 20}, "MaxIdentifierLength"},
		{"project key with slash", Config{Secret: testSecret, Sessions: sm, ProjectKey: "ab/../cd"}, "ProjectKey"},
		{"project key with quote", Config{Secret: testSecret, Sessions: sm, ProjectKey: `ab"cd`}, "ProjectKey"},
		{"good project key", Config{Secret: testSecret, Sessions: sm, ProjectKey: "ab12cd34"}, ""},
		{"javascript widget url", Config{Secret: testSecret, Sessions: sm, WidgetURL: "javascript:alert(1)"}, "WidgetURL"},
		{"scheme-relative widget url", Config{Secret: testSecret, Sessions: sm, WidgetURL: "//evil.example/x.js"}, "WidgetURL"},
		{"local widget url", Config{Secret: testSecret, Sessions: sm, WidgetURL: "/static/widget.js"}, ""},
		{"https widget url", Config{Secret: testSecret, Sessions: sm, WidgetURL: "https://cdn.example/w.js"}, ""},
		{"auto insert without loader", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, AutoInsert: true}, "AutoInsert"},
		// Contradictions are refused, naming the fix.
		{"endpoint only with a project key", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, ProjectKey: "ab12cd34"}, "EndpointOnly: says the app renders none of the kit's snippets"},
		{"endpoint only with a widget url", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, WidgetURL: "/w.js"}, "drop EndpointOnly, or the loader"},
		{"endpoint only with a nonce", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, Nonce: func(*http.Request) string { return "" }}, "Nonce: is for the kit's scripts"},
		{"skip without auto insert", Config{Secret: testSecret, Sessions: sm, ProjectKey: "ab12cd34", SkipAutoInsert: func(*http.Request) bool { return true }}, "SkipAutoInsert: only excludes requests from AutoInsert"},
		{"skip with auto insert", Config{Secret: testSecret, Sessions: sm, ProjectKey: "ab12cd34", AutoInsert: true, SkipAutoInsert: func(*http.Request) bool { return true }}, ""},
		{"public cache control", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: "public, max-age=60"}, "CacheControl"},
		{"no-store cache control", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: "no-store"}, ""},
		{"stricter cache control", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: "no-store, no-cache, must-revalidate, private, max-age=0"}, ""},
		{"private alone", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: "private"}, "must contain no-store"},
		{"no-store with max-age", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: "no-store, max-age=600"}, `"max-age=600" would let a cache keep`},
		{"no-store with s-maxage", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: "no-store, s-maxage=60"}, "s-maxage"},
		{"qualified no-store", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: `no-store="Set-Cookie"`}, "would let a cache keep"},
		{"no-store in a quoted string", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: `x="a, no-store, b"`}, "would let a cache keep"},
		{"malformed cache control", Config{EndpointOnly: true, Secret: testSecret, Sessions: sm, CacheControl: `no-store, "x"`}, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kit, err := New(tt.cfg)
			if tt.want == "" {
				require.NoError(t, err)
				assert.NotNil(t, kit)
				return
			}
			require.Error(t, err)
			assert.Nil(t, kit)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{Sessions: scs.New()})
	assert.Equal(t, KindEmail, kit.cfg.Kind)
	assert.Equal(t, "prefinery.identifier", kit.cfg.SessionKey)
	assert.Equal(t, 320, kit.cfg.MaxIdentifierLength)
	assert.Equal(t, "https://widget.prefinery.com/widget/v2/ab12cd34.js", kit.cfg.WidgetURL)
	assert.Equal(t, "no-store", kit.cfg.CacheControl)
	assert.NotNil(t, kit.cfg.Logger)
	assert.True(t, kit.cfg.Secret.isZero(), "the Kit keeps its secret in one place, where Rotate swaps it")
}

// TestErrorsHaveOnePrefix: however deep an error chain goes, its message
// starts with "prefinery: " once, and errors.Is finds every sentinel in it.
func TestErrorsHaveOnePrefix(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", "")
	os.Unsetenv("PREFINERY_IDENTITY_SECRET")
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte(" padded-secret-0123456789"), 0o600))
	_, fromFile := SecretFromFile(file)
	t.Setenv("SHORT_SECRET", "short")
	_, fromEnv := SecretFromEnv("SHORT_SECRET")
	_, noSecret := New(Config{Sessions: scs.New(), EndpointOnly: true})
	_, badKind := New(Config{Secret: testSecret, Sessions: scs.New(), EndpointOnly: true, Kind: "phone"})
	kit := newKit(t, Config{})
	tests := []struct {
		err  error
		want []error
	}{
		{fromFile, []error{ErrInvalidSecret}},
		{fromEnv, []error{ErrInvalidSecret}},
		{noSecret, []error{ErrInvalidConfig, ErrInvalidSecret}},
		{badKind, []error{ErrInvalidConfig}},
		{kit.Rotate(Secret{}), []error{ErrInvalidSecret}},
		{kit.Login(context.Background(), "a@b.c"), []error{ErrNoSession}},
		{newKit(t, Config{Sessions: scs.New()}).Login(context.Background(), ""), []error{ErrInvalidIdentifier}},
	}
	for _, tt := range tests {
		require.Error(t, tt.err)
		assert.Equal(t, 1, strings.Count(tt.err.Error(), "prefinery:"), "%q", tt.err)
		assert.True(t, strings.HasPrefix(tt.err.Error(), "prefinery: "), "%q", tt.err)
		for _, want := range tt.want {
			assert.ErrorIs(t, tt.err, want, "%q", tt.err)
		}
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{EndpointOnly: true, Sessions: scs.New()})
	before := kit.Sign("a@b.c")
	err := kit.Rotate(Secret{})
	assert.ErrorIs(t, err, ErrInvalidSecret)
	assert.Equal(t, before, kit.Sign("a@b.c"), "a refused rotation keeps the old secret")
	require.NoError(t, kit.Rotate(mustSecret(vendorSecretText)))
	assert.Equal(t, mustSecret(vendorSecretText).key.Sign("a@b.c"), kit.Sign("a@b.c"))
}

func TestNewReadsTheSecretFromTheEnvironment(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", testSecretText)
	kit, err := New(Config{Sessions: scs.New(), EndpointOnly: true})
	require.NoError(t, err)
	assert.Equal(t, testSecret.key.Sign("a@b.c"), kit.Sign("a@b.c"))
	t.Setenv("PREFINERY_IDENTITY_SECRET", testSecretText+"\n")
	_, err = New(Config{Sessions: scs.New(), EndpointOnly: true})
	assert.ErrorIs(t, err, ErrInvalidSecret)
	assert.ErrorContains(t, err, "line break")
}

// TestProjectKeyFromTheEnvironment: an app that keeps its settings in the
// environment sets PREFINERY_PROJECT_KEY beside the secret; a key in the
// Config wins; a malformed one names the variable.
func TestProjectKeyFromTheEnvironment(t *testing.T) {
	t.Setenv("PREFINERY_PROJECT_KEY", "env12key")
	kit := newKit(t, Config{Sessions: scs.New(), ProjectKey: "cfg34key"})
	assert.Equal(t, "https://widget.prefinery.com/widget/v2/cfg34key.js", kit.cfg.WidgetURL)
	kit, err := New(Config{Secret: testSecret, Sessions: scs.New()})
	require.NoError(t, err)
	assert.Equal(t, "https://widget.prefinery.com/widget/v2/env12key.js", kit.cfg.WidgetURL)
	_, err = New(Config{Secret: testSecret, Sessions: scs.New(), EndpointOnly: true})
	assert.NoError(t, err, "EndpointOnly takes no key from the environment")
	t.Setenv("PREFINERY_PROJECT_KEY", "not/a key")
	_, err = New(Config{Secret: testSecret, Sessions: scs.New()})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "PREFINERY_PROJECT_KEY")
	assert.NotContains(t, err.Error(), "not/a key")

	require.NoError(t, os.Unsetenv("PREFINERY_PROJECT_KEY")) // restored by t.Setenv's cleanup
	for _, cfg := range []Config{
		{Secret: testSecret, Sessions: scs.New()},
		{Secret: testSecret, Sessions: scs.New(), AutoInsert: true},
	} {
		_, err = New(cfg)
		assert.ErrorIs(t, err, ErrInvalidConfig)
		assert.ErrorContains(t, err, "the environment variable PREFINERY_PROJECT_KEY", "AutoInsert %v: the missing key names its variable", cfg.AutoInsert)
	}
}

// TestTestBinaryDefaults: in a test binary, a Config that names no secret or
// loader, with the environment silent, gets the test secret and the
// stand-in's loader; a variable that is set is read as always, and anything
// the Config names wins.
func TestTestBinaryDefaults(t *testing.T) {
	const (
		secretEnv = "PREFINERY_IDENTITY_SECRET"
		keyEnv    = "PREFINERY_PROJECT_KEY"
		unset     = "(unset)"
	)
	testKey := mustSecret(testkit.SecretText).key.Sign("ada@example.com")
	tests := []struct {
		name           string
		inTest         bool
		cfg            Config
		secret, key    string // the environment; unset leaves the variable out
		wantSignedWith string // the signature of ada@example.com; "" when New fails
		wantWidgetURL  string
		wantErr        string
	}{
		{"test binary, silent environment", true, Config{AutoInsert: true}, unset, unset, testKey, testkit.WidgetURL, ""},
		{"test binary, endpoint only", true, Config{EndpointOnly: true}, unset, unset, testKey, "", ""},
		{"test binary, the Config's secret and key", true, Config{Secret: testSecret, ProjectKey: "ab12cd34"}, unset, unset, testSecret.key.Sign("ada@example.com"), "https://widget.prefinery.com/widget/v2/ab12cd34.js", ""},
		{"test binary, the environment's secret and key", true, Config{}, testSecretText, "env12key", testSecret.key.Sign("ada@example.com"), "https://widget.prefinery.com/widget/v2/env12key.js", ""},
		{"test binary, a variable set empty is read", true, Config{}, "", unset, "", "", "PREFINERY_IDENTITY_SECRET: the secret is empty"},
		{"test binary, a malformed key is refused", true, Config{}, unset, "not/a key", "", "", "PREFINERY_PROJECT_KEY must be"},
		{"other binary, silent environment", false, Config{EndpointOnly: true}, unset, unset, "", "", "PREFINERY_IDENTITY_SECRET is not set"},
		{"other binary, no loader", false, Config{Secret: testSecret, AutoInsert: true}, unset, unset, "", "", "AutoInsert: needs ProjectKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, v := range map[string]string{secretEnv: tt.secret, keyEnv: tt.key} {
				if v != unset {
					t.Setenv(name, v)
					continue
				}
				t.Setenv(name, "") // restored after the test
				require.NoError(t, os.Unsetenv(name))
			}
			cfg, err := tt.cfg.normalized(tt.inTest)
			if tt.wantErr != "" {
				assert.ErrorIs(t, err, ErrInvalidConfig)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantSignedWith, cfg.Secret.key.Sign("ada@example.com"))
			assert.Equal(t, tt.wantWidgetURL, cfg.WidgetURL)
		})
	}
	_, err := NewSecret(testkit.SecretText)
	assert.NoError(t, err, "the test secret passes NewSecret's checks")
}

// TestMustNew: MustNew returns New's Kit, and panics with New's error.
func TestMustNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" when MustNew returns a Kit
	}{
		{"valid", Config{Secret: testSecret, EndpointOnly: true}, ""},
		{"invalid", Config{Secret: testSecret, EndpointOnly: true, Kind: "phone"}, "Kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.wantErr == "" {
				kit := MustNew(tt.cfg)
				require.NotNil(t, kit)
				assert.Equal(t, testSecret.key.Sign("a@b.c"), kit.Sign("a@b.c"))
				return
			}
			defer func() {
				err, ok := recover().(error)
				require.True(t, ok, "MustNew panics with an error")
				assert.ErrorIs(t, err, ErrInvalidConfig)
				assert.ErrorContains(t, err, tt.wantErr)
			}()
			MustNew(tt.cfg)
			t.Fatal("MustNew returned")
		})
	}
}
