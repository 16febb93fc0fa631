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
	"github.com/stretchr/testify/require"
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

// TestRecentSignaturesMatchTheHMAC signs five times more identifiers than the
// key remembers, several rounds in an order that keeps evicting, and checks
// every answer (remembered or not) against a fresh HMAC.
func TestRecentSignaturesMatchTheHMAC(t *testing.T) {
	k := New(vendorSecret)
	ids := make([]string, 5*recentSlots)
	for i := range ids {
		ids[i] = "user" + strconv.Itoa(i) + "@example.com"
	}
	for round := range 3 {
		for i := range ids {
			id := ids[(i*7919+round)%len(ids)]
			require.Equal(t, naiveSign(vendorSecret, id), k.Sign(id), id)
		}
	}
	// A prefix, a longer string and a one-byte change never take another's slot.
	for _, id := range []string{"user1@example.co", "user1@example.comm", "User1@example.com", "user1@example.com "} {
		assert.Equal(t, naiveSign(vendorSecret, id), k.Sign(id), "%q", id)
	}
}

// TestRecentSignaturesConcurrent signs an overlapping set of identifiers from
// several goroutines (run with -race): every signature is right.
func TestRecentSignaturesConcurrent(t *testing.T) {
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

// TestRecentSignaturesSkipHugeMessages: a message longer than any identifier
// is signed but not kept.
func TestRecentSignaturesSkipHugeMessages(t *testing.T) {
	k := New(vendorSecret)
	huge := strings.Repeat("x", MaxRemembered+1)
	assert.Equal(t, naiveSign(vendorSecret, huge), k.Sign(huge))
	_, kept := k.recent.get(huge)
	assert.False(t, kept)
	_ = k.Sign("short@example.com")
	_, kept = k.recent.get("short@example.com")
	assert.True(t, kept)
}

// TestIsSignature accepts exactly 64 lowercase hex characters.
func TestIsSignature(t *testing.T) {
	sig := naiveSign(vendorSecret, "x")
	assert.True(t, IsSignature(sig))
	for _, bad := range []string{"", sig[:63], sig + "0", strings.ToUpper(sig), sig[:63] + "g"} {
		assert.False(t, IsSignature(bad), "%q", bad)
	}
}
