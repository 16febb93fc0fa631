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

// Limits of one signature header, and the default tolerance.
const (
	maxHeaderLength  = 4 << 10
	maxV1Entries     = 8
	defaultTolerance = 5 * time.Minute
)

// Verify checks one delivery: header is X-Prefinery-Signature's value, body
// the raw request body, now the time it arrived. It accepts when the
// timestamp is within tolerance of now (either way; 0 means the default, 5
// minutes) and any well-formed v1 entry is the signature under any of
// secrets (several during a rotation); entries of other schemes, and v1
// entries that are not 64 lowercase hex characters, are ignored. Errors wrap
// [ErrInvalid] and say why, without the body or a secret; a negative
// tolerance and a zero Secret are refused, never used.
func Verify(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...prefinery.Secret) error {
	if tolerance < 0 {
		return fmt.Errorf("%w: a negative tolerance (%s)", ErrInvalid, tolerance)
	}
	if tolerance == 0 {
		tolerance = defaultTolerance
	}
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

// failure is why a delivery did not verify. A malformed header is the
// sender's fault (400); the others may be the receiver's (a secret not yet
// rotated in, a clock off, a proxy that rewrote the body), so the handler
// asks Prefinery to retry.
type failure struct {
	cause     string // a short, fixed name of the cause, for logging once
	reason    string
	malformed bool
}

func (f *failure) Error() string        { return ErrInvalid.Error() + ": " + f.reason }
func (f *failure) Is(target error) bool { return target == ErrInvalid }

func malformed(format string, args ...any) *failure {
	return &failure{cause: "malformed", reason: fmt.Sprintf(format, args...), malformed: true}
}

// verified is a delivery that verified: its timestamp, as signed.
type verified struct {
	timestamp string
	sentAt    time.Time
}

// verify is Verify with a tolerance already defaulted.
func verify(header string, body []byte, now time.Time, tolerance time.Duration, secrets []prefinery.Secret) (verified, error) {
	if len(secrets) == 0 {
		return verified{}, &failure{cause: "no secret", reason: "no signing secret configured"}
	}
	for i, s := range secrets {
		if secret.Of(s) == nil {
			return verified{}, &failure{cause: "zero secret", reason: fmt.Sprintf("secret %d is a zero Secret (check the error of the call that made it)", i)}
		}
	}
	timestamp, signatures, n, err := parseHeader(header)
	if err != nil {
		return verified{}, err
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return verified{}, malformed("the timestamp is out of range")
	}
	sentAt := time.Unix(seconds, 0)
	switch skew := now.Sub(sentAt); {
	case skew > tolerance:
		return verified{}, &failure{cause: "old timestamp", reason: fmt.Sprintf("the timestamp is %s old, over the tolerance of %s (a replay, or this server's clock is ahead)", skew.Round(time.Second), tolerance)}
	case skew < -tolerance:
		return verified{}, &failure{cause: "future timestamp", reason: fmt.Sprintf("the timestamp is %s ahead, over the tolerance of %s (this server's clock is behind)", (-skew).Round(time.Second), tolerance)}
	}
	var want [sha256.Size]byte
	for _, s := range secrets {
		secret.Of(s).MAC(&want, body, timestamp, ".")
		for _, got := range signatures[:n] {
			if hmac.Equal(got[:], want[:]) {
				return verified{timestamp: timestamp, sentAt: sentAt}, nil
			}
		}
	}
	return verified{}, &failure{cause: "mismatch", reason: "no v1 signature matches the body under the signing secrets (a secret not rotated in, or a body changed on the way)"}
}

// parseHeader splits "t=…,v1=…[,v1=…]" into the timestamp (digits only) and
// the decoded well-formed v1 signatures. Other schemes (v0, future ones) and
// v1 entries that are not signatures are ignored: a downgrade is refused by
// requiring a well-formed v1, and a form the sender adds later costs nothing.
func parseHeader(header string) (timestamp string, signatures [maxV1Entries][sha256.Size]byte, n int, err error) {
	if len(header) > maxHeaderLength {
		return "", signatures, 0, malformed("the signature header is %d bytes, over %d", len(header), maxHeaderLength)
	}
	for entry := range strings.SplitSeq(header, ",") {
		scheme, value, ok := strings.Cut(entry, "=")
		if !ok {
			return "", signatures, 0, malformed("the signature header has an entry without '='")
		}
		switch scheme {
		case "t":
			if timestamp != "" {
				return "", signatures, 0, malformed("the signature header has more than one timestamp")
			}
			if value == "" {
				return "", signatures, 0, malformed("the timestamp is empty")
			}
			timestamp = value
		case "v1":
			if !secret.IsSignature(value) {
				continue
			}
			if n >= maxV1Entries {
				return "", signatures, 0, malformed("the signature header has more than %d v1 signatures", maxV1Entries)
			}
			_, _ = hex.Decode(signatures[n][:], []byte(value))
			n++
		}
	}
	switch {
	case timestamp == "":
		return "", signatures, 0, malformed("the signature header has no timestamp")
	case n == 0:
		return "", signatures, 0, malformed("the signature header has no well-formed v1 signature")
	}
	for i := 0; i < len(timestamp); i++ {
		if timestamp[i] < '0' || timestamp[i] > '9' {
			return "", signatures, 0, malformed("the timestamp is not unix seconds")
		}
	}
	return timestamp, signatures, n, nil
}
