package prefinery

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// SecretFromEnv reads the Identity Verification Secret from the environment
// variable name (conventionally PREFINERY_IDENTITY_SECRET). Only a trailing
// CR/LF is removed (left by `echo` or an editor); every other byte is kept,
// since the bytes are the HMAC key. It returns an error wrapping
// [ErrInvalidSecret] when the variable is unset or the secret is unusable; the
// error names the variable, never the value.
func SecretFromEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("%w: the environment variable %s is not set", ErrInvalidSecret, name)
	}
	secret := trimLineEnd(v)
	if err := checkSecret(secret); err != nil {
		return "", fmt.Errorf("environment variable %s: %w", name, err)
	}
	return secret, nil
}

// SecretFromFile reads the Identity Verification Secret from a file (a
// mounted Kubernetes or Docker secret, say). Only a trailing CR/LF is removed.
// A file that group or others may read is accepted, with a warning through
// slog.Default, since anyone who reads the secret can sign as any user. Errors
// wrap [ErrInvalidSecret] or the file error and name the path, never the
// contents.
func SecretFromFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("prefinery: reading the secret file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		slog.Default().Warn("prefinery: the secret file is readable by group or others; restrict it with chmod 600",
			slog.String("path", path), slog.String("mode", info.Mode().Perm().String()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("prefinery: reading the secret file: %w", err)
	}
	secret := trimLineEnd(string(b))
	if err := checkSecret(secret); err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	return secret, nil
}

// trimLineEnd removes trailing CR and LF characters, and nothing else.
func trimLineEnd(s string) string { return strings.TrimRight(s, "\r\n") }
