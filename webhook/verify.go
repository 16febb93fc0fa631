package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/secret"
)

// Header is the request header that carries a delivery's signature.
const Header = "X-Prefinery-Signature"

// Limits of one signature header.
const (
	maxHeaderLength = 4 << 10
	maxV1Entries    = 8
)

// Verify checks one delivery: header is X-Prefinery-Signature's value, body
// the raw request body, now the time it arrived. It accepts when the
// timestamp is within tolerance of now (either way) and any v1 entry is the
// signature under any of secrets (several during a rotation); entries of
// other schemes are ignored. Errors wrap [ErrInvalid] and say why, without
// the body or a secret; a zero Secret is refused, never used.
func Verify(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...prefinery.Secret) error {
	_, err := verify(header, body, now, tolerance, secrets)
	return err
}

// Sign returns the X-Prefinery-Signature value Prefinery would send for body
// at time at, under secret: for tests of an app's webhook handler, and for
// the prefinery-sign command. A zero Secret is refused with an error.
func Sign(s prefinery.Secret, at time.Time, body []byte) (string, error) {
	key := secret.Of(s)
	if key == nil {
		return "", fmt.Errorf("%w: Sign needs a secret from prefinery.NewSecret, SecretFromEnv or SecretFromFile", prefinery.ErrInvalidSecret)
	}
	timestamp := strconv.FormatInt(at.Unix(), 10)
	var sum [sha256.Size]byte
	key.MAC(&sum, body, timestamp, ".")
	return "t=" + timestamp + ",v1=" + hex.EncodeToString(sum[:]), nil
}

// verify is Verify, also returning the signature that matched.
func verify(header string, body []byte, now time.Time, tolerance time.Duration, secrets []prefinery.Secret) (matched [sha256.Size]byte, err error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if len(secrets) == 0 {
		return matched, invalid("no signing secret configured")
	}
	for i, s := range secrets {
		if secret.Of(s) == nil {
			return matched, invalid("secret %d is a zero Secret (check the error of the call that made it)", i)
		}
	}
	timestamp, signatures, n, err := parseHeader(header)
	if err != nil {
		return matched, err
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return matched, invalid("the timestamp is out of range")
	}
	if skew := now.Sub(time.Unix(seconds, 0)); skew > tolerance || skew < -tolerance {
		return matched, invalid("the timestamp is %s away from now, over the tolerance of %s", skew.Round(time.Second), tolerance)
	}
	var want [sha256.Size]byte
	for _, s := range secrets {
		secret.Of(s).MAC(&want, body, timestamp, ".")
		for _, got := range signatures[:n] {
			if hmac.Equal(got[:], want[:]) {
				return got, nil
			}
		}
	}
	return matched, invalid("no v1 signature matches the body under the signing secret")
}

// parseHeader splits "t=…,v1=…[,v1=…]" into the timestamp (digits only) and
// the decoded v1 signatures. Other schemes (v0, future ones) are ignored: a
// downgrade is refused by requiring v1.
func parseHeader(header string) (timestamp string, signatures [maxV1Entries][sha256.Size]byte, n int, err error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if len(header) > maxHeaderLength {
		return "", signatures, 0, invalid("the signature header is %d bytes, over %d", len(header), maxHeaderLength)
	}
	for entry := range strings.SplitSeq(header, ",") {
		scheme, value, ok := strings.Cut(entry, "=")
		if !ok {
			return "", signatures, 0, invalid("the signature header has an entry without '='")
		}
		switch scheme {
		case "t":
			if timestamp != "" {
				return "", signatures, 0, invalid("the signature header has more than one timestamp")
			}
			if value == "" {
				return "", signatures, 0, invalid("the timestamp is empty")
			}
			timestamp = value
		case "v1":
			if !secret.IsSignature(value) {
				return "", signatures, 0, invalid("a v1 signature is not 64 lowercase hex characters")
			}
			if n >= maxV1Entries {
				return "", signatures, 0, invalid("the signature header has more than %d v1 signatures", maxV1Entries)
			}
			_, _ = hex.Decode(signatures[n][:], []byte(value))
			n++
		}
	}
	switch {
	case timestamp == "":
		return "", signatures, 0, invalid("the signature header has no timestamp")
	case n == 0:
		return "", signatures, 0, invalid("the signature header has no v1 signature")
	}
	for i := 0; i < len(timestamp); i++ {
		if timestamp[i] < '0' || timestamp[i] > '9' {
			return "", signatures, 0, invalid("the timestamp is not unix seconds")
		}
	}
	return timestamp, signatures, n, nil
}
