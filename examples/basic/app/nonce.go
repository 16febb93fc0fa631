package app

import (
	"context"
	"net/http"
)

// contextWithNonce stores the request's CSP nonce for the kit's Config.Nonce.
func contextWithNonce(r *http.Request, nonce string) context.Context {
	return context.WithValue(r.Context(), nonceKey{}, nonce)
}
