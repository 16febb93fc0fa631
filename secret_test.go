package prefinery

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/prefinerykit/prefinery/internal/secret"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignVectors checks signing against signatures computed by the vendor's
// own formulas in Node, Python, Ruby and PHP (testdata/vectors/generate.sh).
func TestSignVectors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/vectors/inputs.json")
	require.NoError(t, err)
	var inputs struct {
		Secrets     []string `json:"secrets"`
		Identifiers []string `json:"identifiers"`
	}
	require.NoError(t, json.Unmarshal(raw, &inputs))

	f, err := os.Open("testdata/vectors/expected.tsv")
	require.NoError(t, err)
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		require.Len(t, fields, 3)
		s, err := strconv.Atoi(fields[0])
		require.NoError(t, err)
		i, err := strconv.Atoi(fields[1])
		require.NoError(t, err)
		secret := uncheckedSecret(inputs.Secrets[s]) // "secret" is below the policy minimum
		assert.Equal(t, fields[2], secret.key.Sign(inputs.Identifiers[i]), "secret %d, identifier %d", s, i)
		lines++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, len(inputs.Secrets)*len(inputs.Identifiers), lines, "every input pair has a vector")
}

func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597", uncheckedSecret("secret").key.Sign("Message"))
}

func TestNewSecretRefusesUnusableSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, want string
	}{
		{"empty", "", "empty"},
		{"spaces", "    \t\r\n          ", "starts with whitespace"},
		{"leading space", " " + vendorSecretText, "starts with whitespace"},
		{"trailing newline", vendorSecretText + "\n", "line break"},
		{"trailing crlf", vendorSecretText + "\r\n", "line break"},
		{"trailing space", vendorSecretText + " ", "ends with whitespace"},
		{"trailing tab", vendorSecretText + "\t", "ends with whitespace"},
		{"trailing nbsp", vendorSecretText + "\u00a0", "ends with whitespace"},
		{"too short", "short-secret", "12 bytes, shorter than the minimum of 16"},
		{"invalid utf-8", vendorSecretText + "\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSecret(tt.secret)
			require.Error(t, err)
			assert.True(t, s.isZero())
			assert.ErrorIs(t, err, ErrInvalidSecret)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "project settings", "the error says where the secret comes from")
			if trimmed := strings.TrimSpace(tt.secret); trimmed != "" {
				assert.NotContains(t, err.Error(), trimmed[:8], "the error never quotes the secret")
			}
		})
	}
}

func TestNewSecretKeepsInnerBytes(t *testing.T) {
	t.Parallel()
	s, err := NewSecret("inner space " + vendorSecretText)
	require.NoError(t, err)
	mac := hmac.New(sha256.New, []byte("inner space "+vendorSecretText))
	mac.Write([]byte("a@b.c"))
	assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), s.key.Sign("a@b.c"), "the key is used byte for byte")
}

func TestSignIsLowercaseHex(t *testing.T) {
	t.Parallel()
	sig := mustSecret(vendorSecretText).key.Sign("user@example.com")
	assert.True(t, secret.IsSignature(sig), "64 lowercase hex characters: %q", sig)
}

func TestSecretConcurrentUse(t *testing.T) {
	t.Parallel()
	s := mustSecret(vendorSecretText)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i) + "@example.com" + strings.Repeat("x", i)
				mac := hmac.New(sha256.New, []byte(vendorSecretText))
				mac.Write([]byte(id))
				if !assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), s.key.Sign(id)) {
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSecretFromEnv(t *testing.T) {
	tests := []struct {
		name, value string
		set         bool
		err         string
	}{
		{"plain", testSecretText, true, ""},
		{"trailing newline", testSecretText + "\n", true, "line break"},
		{"padded", " " + testSecretText + " ", true, "whitespace"},
		{"unset", "", false, "is not set"},
		{"empty", "", true, "empty"},
		{"short", "abc", true, "shorter than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const name = "PREFINERY_TEST_SECRET"
			if tt.set {
				t.Setenv(name, tt.value)
			} else {
				t.Setenv(name, "")
				require.NoError(t, os.Unsetenv(name))
			}
			got, err := SecretFromEnv(name)
			if tt.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrInvalidSecret)
				assert.Contains(t, err.Error(), tt.err)
				assert.Contains(t, err.Error(), name)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, testSecret.key.Sign("a@b.c"), got.key.Sign("a@b.c"))
		})
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	private := filepath.Join(dir, "private")
	require.NoError(t, os.WriteFile(private, []byte(testSecretText), 0o600))
	got, err := SecretFromFile(private)
	require.NoError(t, err)
	assert.Equal(t, testSecret.key.Sign("a@b.c"), got.key.Sign("a@b.c"))
	assert.Empty(t, logs.String())

	shared := filepath.Join(dir, "shared")
	require.NoError(t, os.WriteFile(shared, []byte(testSecretText), 0o644))
	_, err = SecretFromFile(shared)
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "readable by group or others")
	assert.NotContains(t, logs.String(), testSecretText)

	// A text file's one line terminator is not part of the secret.
	for _, ending := range []string{"\n", "\r\n"} {
		echoed := filepath.Join(dir, "echoed")
		require.NoError(t, os.WriteFile(echoed, []byte(testSecretText+ending), 0o600))
		got, err := SecretFromFile(echoed)
		require.NoError(t, err, "%q", ending)
		assert.Equal(t, testSecret.key.Sign("a@b.c"), got.key.Sign("a@b.c"), "%q", ending)
	}
	// Anything more is refused, with the same clear errors.
	for ending, want := range map[string]string{"\n\n": "line break", " \n": "ends with whitespace", "\r": "line break", "\t": "ends with whitespace"} {
		padded := filepath.Join(dir, "padded")
		require.NoError(t, os.WriteFile(padded, []byte(testSecretText+ending), 0o600))
		_, err = SecretFromFile(padded)
		assert.ErrorIs(t, err, ErrInvalidSecret, "%q", ending)
		assert.ErrorContains(t, err, want, "%q", ending)
		assert.ErrorContains(t, err, padded, "the error names the file")
	}
	leading := filepath.Join(dir, "leading")
	require.NoError(t, os.WriteFile(leading, []byte(" "+testSecretText+"\n"), 0o600))
	_, err = SecretFromFile(leading)
	assert.ErrorContains(t, err, "starts with whitespace")

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("tiny"), 0o600))
	_, err = SecretFromFile(short)
	assert.ErrorIs(t, err, ErrInvalidSecret)
	assert.NotContains(t, err.Error(), "tiny")

	_, err = SecretFromFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestSignAfterRotation: after Rotate, an identifier signed before is
// signed with the new secret.
func TestSignAfterRotation(t *testing.T) {
	t.Parallel()
	kit := newKit(t, Config{Sessions: scs.New()})
	const id = "rotating@example.com"
	require.Equal(t, naiveSign(testSecretText, id), kit.Sign(id))
	require.Equal(t, naiveSign(testSecretText, id), kit.Sign(id), "again")
	require.NoError(t, kit.Rotate(mustSecret(vendorSecretText)))
	assert.Equal(t, naiveSign(vendorSecretText, id), kit.Sign(id))
}
