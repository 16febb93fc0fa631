package secret

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

const vendorSecret = "aBc123DeF456gHi789JkL012mNo345PqR678sTu901Vw"

// naiveSign is the HMAC as every other language writes it.
func naiveSign(secret, message string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(message))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestKnownAnswer pins one HMAC-SHA256 output (the key is under the root
// package's policy minimum, which this package does not apply).
func TestKnownAnswer(t *testing.T) {
	assert.Equal(t, "aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597", New("secret").Sign("Message"))
}

// TestMACOverPrefixAndBody: MAC hashes the prefixes, then the body, as one
// message (the webhook scheme's "t.body").
func TestMACOverPrefixAndBody(t *testing.T) {
	k := New(vendorSecret)
	var sum [sha256.Size]byte
	k.MAC(&sum, []byte(`{"event":"x"}`), "1612540400", ".")
	assert.Equal(t, naiveSign(vendorSecret, `1612540400.{"event":"x"}`), hex.EncodeToString(sum[:]))
	huge := strings.Repeat("y", 100<<10) // a buffer too large to pool
	k.MAC(&sum, nil, huge)
	assert.Equal(t, naiveSign(vendorSecret, huge), hex.EncodeToString(sum[:]))
}

// TestSignConcurrent signs an overlapping set of identifiers from
// several goroutines sharing the pooled HMAC states (run with -race): every
// signature is right.
func TestSignConcurrent(t *testing.T) {
	k := New(vendorSecret)
	want := make(map[string]string)
	ids := make([]string, 3000)
	for i := range ids {
		ids[i] = "u" + strconv.Itoa(i) + "@example.com"
		want[ids[i]] = naiveSign(vendorSecret, ids[i])
	}
	var wg sync.WaitGroup
	wrong := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 4000 {
				id := ids[(i*(g+3))%len(ids)]
				if k.Sign(id) != want[id] {
					wrong <- id
					return
				}
			}
		})
	}
	wg.Wait()
	close(wrong)
	assert.Empty(t, <-wrong, "a wrong signature was returned")
}

// TestIsSignature accepts exactly 64 lowercase hex characters.
func TestIsSignature(t *testing.T) {
	sig := naiveSign(vendorSecret, "x")
	assert.True(t, IsSignature(sig))
	for _, bad := range []string{"", sig[:63], sig + "0", strings.ToUpper(sig), sig[:63] + "g"} {
		assert.False(t, IsSignature(bad), "%q", bad)
	}
}
