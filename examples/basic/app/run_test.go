package app

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRunRefusesARealSecret: with PREFINERY_IDENTITY_SECRET set the demo
// would be a signing oracle for the project's users, so it refuses to start
// unless told explicitly, before it opens sessions or a port.
func TestRunRefusesARealSecret(t *testing.T) {
	t.Setenv("PREFINERY_IDENTITY_SECRET", "a-real-project-secret-0123456789")
	opened := false
	fs := flag.NewFlagSet("basic", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := Run(fs, []string{"-addr", "127.0.0.1:0"}, func() (Sessions, error) {
		opened = true
		return Sessions{}, nil
	})
	assert.ErrorIs(t, err, errSigningOracle)
	assert.ErrorContains(t, err, "-unsafe-sign-any-email")
	assert.NotContains(t, err.Error(), "a-real-project-secret", "the error never shows the secret")
	assert.False(t, opened, "nothing started")
}
