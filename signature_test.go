package prefinery

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignVectors checks Sign against signatures computed by the vendor's own
// formulas in Node and Python (testdata/vectors/generate.sh).
func TestSignVectors(t *testing.T) {
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
		signer := newSigner(inputs.Secrets[s]) // "secret" is below the policy minimum
		identifier := inputs.Identifiers[i]
		assert.Equal(t, fields[2], signer.Sign(identifier), "secret %d, identifier %d", s, i)
		assert.Equal(t, fields[2], string(signer.AppendSign([]byte(nil), identifier)))
		assert.True(t, signer.Verify(identifier, fields[2]))
		lines++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, len(inputs.Secrets)*len(inputs.Identifiers), lines, "every input pair has a vector")
}

func TestKnownAnswer(t *testing.T) {
	assert.Equal(t, "aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597", newSigner("secret").Sign("Message"))
}

func TestNewSignerRefusesWeakSecrets(t *testing.T) {
	tests := []struct {
		name, secret, want string
	}{
		{"empty", "", "empty"},
		{"spaces", "    \t\r\n          ", "whitespace"},
		{"too short", "short-secret", "shorter than the minimum of 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.secret)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, ErrInvalidSecret)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "project settings", "the error says where the secret comes from")
			if strings.TrimSpace(tt.secret) != "" {
				assert.NotContains(t, err.Error(), tt.secret, "the error never quotes the secret")
			}
		})
	}
}

func TestNewSignerUsesSecretBytesAsIs(t *testing.T) {
	padded, err := NewSigner(" " + vendorSecret + "\n")
	require.NoError(t, err)
	plain, err := NewSigner(vendorSecret)
	require.NoError(t, err)
	assert.NotEqual(t, plain.Sign("a@b.c"), padded.Sign("a@b.c"), "no trimming inside NewSigner")
}

func TestSignIsLowercaseHex(t *testing.T) {
	s, err := NewSigner(vendorSecret)
	require.NoError(t, err)
	sig := s.Sign("user@example.com")
	assert.Len(t, sig, SignatureLength)
	assert.Equal(t, strings.ToLower(sig), sig)
	_, err = hex.DecodeString(sig)
	assert.NoError(t, err)
}

func TestVerify(t *testing.T) {
	s, err := NewSigner(vendorSecret)
	require.NoError(t, err)
	good := s.Sign("user@example.com")
	other := s.Sign("other@example.com")
	tests := []struct {
		name, identifier, signature string
		want                        bool
	}{
		{"lowercase", "user@example.com", good, true},
		{"uppercase", "user@example.com", strings.ToUpper(good), true},
		{"other user's signature", "user@example.com", other, false},
		{"different case identifier", "User@example.com", good, false},
		{"trailing space identifier", "user@example.com ", good, false},
		{"empty", "user@example.com", "", false},
		{"short", "user@example.com", good[:63], false},
		{"long", "user@example.com", good + "0", false},
		{"non-hex", "user@example.com", "zz" + good[2:], false},
		{"multibyte same length", "user@example.com", "é" + good[2:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Verify(tt.identifier, tt.signature))
		})
	}
}

func TestAppendSignDoesNotAllocate(t *testing.T) {
	s, err := NewSigner(vendorSecret)
	require.NoError(t, err)
	buf := make([]byte, 0, 64)
	long := strings.Repeat("x", 300)
	allocs := testing.AllocsPerRun(100, func() {
		buf = s.AppendSign(buf[:0], "someone@example.com")
		buf = s.AppendSign(buf[:0], long)
	})
	assert.Zero(t, allocs, "AppendSign allocations per run")
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = s.Sign("someone@example.com") }), "Sign allocates only its result")
}

func TestSignerConcurrentUse(t *testing.T) {
	s, err := NewSigner(vendorSecret)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i) + "@example.com"
				mac := hmac.New(sha256.New, []byte(vendorSecret))
				mac.Write([]byte(id))
				if !assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), s.Sign(id)) {
					return
				}
			}
		})
	}
	wg.Wait()
}
