package logonce

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFirstOncePerKey: of many goroutines asking about two keys, exactly one
// per key is told it is first (run with -race).
func TestFirstOncePerKey(t *testing.T) {
	t.Parallel()
	var s Set[string]
	var firsts [2]atomic.Int32
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			if s.First([]string{"a", "b"}[i%2]) {
				firsts[i%2].Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), firsts[0].Load())
	assert.Equal(t, int32(1), firsts[1].Load())
	assert.False(t, s.First("a"), "asked again")
}
