package prefinery

import (
	"fmt"
	"log/slog"
	"os"
	"unicode"
	"unicode/utf8"

	"github.com/prefinerykit/prefinery/internal/secret"
)

// minSecretLength is the shortest secret accepted, in bytes. Prefinery's
// secrets are far longer; anything shorter is a placeholder or a truncated copy.
const minSecretLength = 16

// redacted is what every printed form of a Secret shows.
const redacted = "[redacted]"

// Secret holds a Prefinery secret: the project's Identity Verification Secret
// (and, for webhooks, its signing secret). Make one with [NewSecret],
// [SecretFromEnv] or [SecretFromFile]; the zero value is "no secret", which
// every function taking a Secret refuses with an error.
//
// The key material sits behind a pointer, so no printed form of a Secret — or
// of a Config or Kit holding one, directly or in an unexported field of the
// app's own struct — shows it: fmt, log, slog, encoding/json and encoding/xml
// print "[redacted]" or an address. A Secret is immutable and safe for
// concurrent use.
type Secret struct {
	key *secret.Key
}

// init gives the module's other packages (webhook, standin, the CLI) the key
// inside a Secret through internal/secret.Of: they sign and verify with the
// same pooled HMAC states as the Kit, while the root package exports no way
// to reach key material, which any importer could then print or log.
func init() {
	secret.Of = func(v any) *secret.Key {
		s, _ := v.(Secret)
		return s.key
	}
}

// NewSecret checks secret and wraps it. It is for tests and for apps that load
// secrets from their own store; the bytes are the HMAC key exactly as given.
// A secret that is empty, shorter than 16 bytes, not valid UTF-8 or that
// starts or ends with whitespace (a newline left by echo, a pasted space) is
// refused with an error wrapping [ErrInvalidSecret] that names the problem and
// never contains the value.
func NewSecret(value string) (Secret, error) {
	if problem := secretProblem(value); problem != "" {
		return Secret{}, secretError("%s; copy it again from Prefinery's project settings", problem)
	}
	return Secret{key: secret.New(value)}, nil
}

// secretProblem says what is wrong with a secret, without quoting it.
func secretProblem(s string) string {
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	switch {
	case s == "":
		return "the secret is empty"
	case !utf8.ValidString(s):
		return "the secret is not valid UTF-8 (a binary file?)"
	case unicode.IsSpace(first):
		return "the secret starts with whitespace"
	case last == '\n' || last == '\r':
		return "the secret ends with a line break (written by echo without -n?)"
	case unicode.IsSpace(last):
		return "the secret ends with whitespace"
	case len(s) < minSecretLength:
		return fmt.Sprintf("the secret is %d bytes, shorter than the minimum of %d", len(s), minSecretLength)
	}
	return ""
}

// SecretFromEnv reads a secret from the environment variable name
// (conventionally PREFINERY_IDENTITY_SECRET) and checks it as [NewSecret]
// does. Errors name the variable, never the value.
func SecretFromEnv(name string) (Secret, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return Secret{}, secretError("the environment variable %s is not set", name)
	}
	if problem := secretProblem(v); problem != "" {
		return Secret{}, secretError("environment variable %s: %s", name, problem)
	}
	s := Secret{key: secret.New(v)}
	return s, nil
}

// SecretFromFile reads a secret from a text file (a mounted Kubernetes or
// Docker secret) and checks it as [NewSecret] does, after dropping exactly
// one trailing line terminator ("\n" or "\r\n", as editors and echo write
// it); any other surrounding whitespace is refused. A file that group or others may read is accepted with a
// warning through slog.Default. Errors name the path, never the contents.
func SecretFromFile(path string) (Secret, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Secret{}, fmt.Errorf("prefinery: reading the secret file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		slog.Default().Warn("prefinery: the secret file is readable by group or others; restrict it with chmod 600",
			slog.String("path", path), slog.String("mode", info.Mode().Perm().String()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, fmt.Errorf("prefinery: reading the secret file: %w", err)
	}
	text := trimLineEnd(b)
	problem := secretProblem(string(text))
	if problem != "" {
		clear(b)
		return Secret{}, secretError("secret file %s: %s", path, problem)
	}
	s := Secret{key: secret.New(string(text))}
	clear(b)
	return s, nil
}

// trimLineEnd drops the one line terminator ("\n" or "\r\n") that every
// editor and echo write at the end of a text file; any other surrounding
// whitespace stays, for secretProblem to refuse.
func trimLineEnd(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// isZero reports whether s holds no secret.
func (s Secret) isZero() bool { return s.key == nil }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return redacted }

// MarshalText returns "[redacted]", for encoding/json, encoding/xml and slog.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
