// Package webhook receives Prefinery's webhook deliveries: it verifies their
// signatures ([Verify]), answers them the way Prefinery's retry policy
// expects ([NewHandler]), and processes each delivery once ([ReplayStore];
// github.com/prefinerykit/prefinery/redisreplay shares one across instances,
// and github.com/prefinerykit/prefinery/sqlreplay, an [AtomicStore], commits
// what Handle writes in the app's database with the delivery's mark).
//
// Prefinery signs each delivery: X-Prefinery-Signature: t=<unix
// seconds>,v1=<hex>, where v1 is the lowercase hex HMAC-SHA256 of the
// timestamp, a '.', and the raw body, under the project's webhook signing
// secret (Integrations > Webhooks; not the Identity Verification Secret). It
// treats 200 and 201 as accepted, retries 429 (and timeouts after 15 s),
// removes the endpoint on 410, and drops the event on any other status.
//
// The example of [NewHandler] shows the handler mounted, as code the compiler
// checks.
//
// Tests of an app's own handler sign deliveries with [Sign].
package webhook

import "errors"

// Sentinel errors, for [errors.Is]. Configuration errors wrap
// prefinery.ErrInvalidConfig.
var (
	// ErrInvalid is wrapped when a delivery's signature header, body or
	// timestamp does not verify.
	ErrInvalid = errors.New("prefinery: invalid webhook delivery")

	// ErrUnsubscribe is what Config.Handle returns to ask Prefinery to remove
	// the endpoint from the project (answered 410). Nothing else ever
	// produces a 410.
	ErrUnsubscribe = errors.New("prefinery: unsubscribe this webhook endpoint")
)
