package prefinery

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretFromEnv(t *testing.T) {
	tests := []struct {
		name, value string
		set         bool
		want        string
		err         string
	}{
		{"plain", testSecret, true, testSecret, ""},
		{"trailing newline", testSecret + "\n", true, testSecret, ""},
		{"trailing crlf", testSecret + "\r\n", true, testSecret, ""},
		{"spaces are key bytes", " " + testSecret + " ", true, " " + testSecret + " ", ""},
		{"unset", "", false, "", "is not set"},
		{"empty", "", true, "", "empty"},
		{"newline only", "\n", true, "", "empty"},
		{"short", "abc\n", true, "", "shorter than"},
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
			assert.Equal(t, tt.want, got)
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
	require.NoError(t, os.WriteFile(private, []byte(testSecret+"\n"), 0o600))
	got, err := SecretFromFile(private)
	require.NoError(t, err)
	assert.Equal(t, testSecret, got)
	assert.Empty(t, logs.String())

	shared := filepath.Join(dir, "shared")
	require.NoError(t, os.WriteFile(shared, []byte(testSecret), 0o644))
	got, err = SecretFromFile(shared)
	require.NoError(t, err)
	assert.Equal(t, testSecret, got)
	assert.Contains(t, logs.String(), "readable by group or others")
	assert.NotContains(t, logs.String(), testSecret)

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("tiny\n"), 0o600))
	_, err = SecretFromFile(short)
	assert.ErrorIs(t, err, ErrInvalidSecret)
	assert.NotContains(t, err.Error(), "tiny")

	_, err = SecretFromFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
