package prefinery

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecentSignaturesMatchTheHMAC signs five times more identifiers than the
// secret remembers, several rounds in an order that keeps evicting, and checks
// every answer (remembered or not) against a fresh HMAC.
func TestRecentSignaturesMatchTheHMAC(t *testing.T) {
	secret := mustSecret(vendorSecretText)
	ids := make([]string, 5*recentSlots)
	for i := range ids {
		ids[i] = "user" + strconv.Itoa(i) + "@example.com"
	}
	for round := range 3 {
		for i := range ids {
			id := ids[(i*7919+round)%len(ids)]
			require.Equal(t, naiveSign(vendorSecretText, id), secret.sign(id), id)
		}
	}
	// A prefix, a longer string and a one-byte change never take another's slot.
	for _, id := range []string{"user1@example.co", "user1@example.comm", "User1@example.com", "user1@example.com "} {
		assert.Equal(t, naiveSign(vendorSecretText, id), secret.sign(id), "%q", id)
	}
}

// TestRecentSignaturesConcurrent signs an overlapping set of identifiers from
// several goroutines (run with -race): every signature is right.
func TestRecentSignaturesConcurrent(t *testing.T) {
	secret := mustSecret(vendorSecretText)
	want := make(map[string]string)
	ids := make([]string, 3000)
	for i := range ids {
		ids[i] = "u" + strconv.Itoa(i) + "@example.com"
		want[ids[i]] = naiveSign(vendorSecretText, ids[i])
	}
	var wg sync.WaitGroup
	wrong := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 4000 {
				id := ids[(i*(g+3))%len(ids)]
				if secret.sign(id) != want[id] {
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

// TestRecentSignaturesRotation: after Rotate, an identifier signed before is
// signed with the new secret.
func TestRecentSignaturesRotation(t *testing.T) {
	kit := newTestKit(t)
	const id = "rotating@example.com"
	require.Equal(t, naiveSign(testSecretText, id), kit.Sign(id))
	require.Equal(t, naiveSign(testSecretText, id), kit.Sign(id), "remembered")
	require.NoError(t, kit.Rotate(mustSecret(vendorSecretText)))
	assert.Equal(t, naiveSign(vendorSecretText, id), kit.Sign(id))
}

// TestRecentSignaturesSkipHugeMessages: Kit.Sign takes any string; one longer
// than any identifier is signed but not kept.
func TestRecentSignaturesSkipHugeMessages(t *testing.T) {
	secret := mustSecret(vendorSecretText)
	huge := strings.Repeat("x", maxIdentifierCeiling+1)
	assert.Equal(t, naiveSign(vendorSecretText, huge), secret.sign(huge))
	_, kept := secret.key.recent.get(huge)
	assert.False(t, kept)
	_ = secret.sign("short@example.com")
	_, kept = secret.key.recent.get("short@example.com")
	assert.True(t, kept)
}
