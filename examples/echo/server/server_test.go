package server

import (
	"testing"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/internal/frameworktest"
	"github.com/stretchr/testify/require"
)

func TestEcho(t *testing.T) {
	const secretText = "echo-example-test-secret-0123456789"
	secret, err := prefinery.NewSecret(secretText)
	require.NoError(t, err)
	handler, err := New(secret, "/static/widget.js")
	require.NoError(t, err)
	frameworktest.SignInFlow(t, handler, secretText, "echo@example.com")
}
