package prefinery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
)

// The race Login and Logout close: request A loads the session (token T1)
// and is slow; request B logs out (or another user logs in over the
// session), which renews the token to T2 and deletes T1; then A saves T1
// again (it wrote to the session, or scs's IdleTimeout saves every request)
// and sends its cookie, so the browser is back on T1 with the user in it.
//
// So when Login or Logout replaces a token whose session held a signed-in
// identifier, it leaves under the old token a replaced-session record: an
// ordinary scs session (scs's Iterate and All decode it) holding only
// replacedKey, living as long as the session it replaces could have. And
// just before scs saves a signed-in session in a request that did not
// replace it (scs saves when the response header is written, or when the
// handler returns), the kit looks for a record under the token: if there is
// one, it turns the session being saved into a record too, so A saves
// nothing of the user's and the browser that follows A's cookie is signed
// out. The check costs one store read, only in requests that save a
// signed-in session; reading the identity costs nothing. The kit changes
// nothing of the app's SessionManager or store.
//
// The app's own sm.RenewToken in A deletes the old token's entry, record
// included, and A saves the user under a new token the check would find
// nothing under. So the record is also kept under an alias of the old token
// (aliasOf) that RenewToken does not delete, and a save under a token other
// than the one the request loaded looks there.

// replacedKey marks a replaced-session record.
const replacedKey = "prefinery.replaced"

// guardSave runs just before scs saves the request's session (see above),
// once per request: replaced says Login or Logout renewed the token in this
// request, which needs no check; loaded is the token the request loaded the
// session with ("" for a new session). Reading the session's status is one scs
// call; the store is read only for a signed-in save. The record is found by
// decoding what the store holds with the manager's Codec, whatever it does
// to the bytes (compression, encryption); only for scs's own GobCodec, which
// writes keys as they are, does a byte search skip the decode.
func (k *Kit) guardSave(ctx context.Context, replaced bool, loaded string) {
	sm := k.cfg.Sessions
	if sm == nil || replaced {
		return
	}
	defer func() {
		if p := recover(); p != nil && !isNoSessionPanic(p) {
			panic(p) // not behind LoadAndSave is reported where the identity is read
		}
	}()
	if sm.Status(ctx) != scs.Modified || sm.GetString(ctx, k.cfg.SessionKey) == "" {
		return
	}
	token := sm.Token(ctx)
	if token == "" {
		return
	}
	if loaded != "" && token != loaded {
		token = aliasOf(loaded) // the app renewed the token itself: its old entry is gone
	}
	b, found, err := findInStore(ctx, sm, token)
	if err != nil || !found {
		return // the store's failure shows in scs's own save, next
	}
	if _, plain := sm.Codec.(scs.GobCodec); plain && !bytes.Contains(b, []byte(replacedKey)) {
		return // gob writes map keys as they are: most sessions hold no record's key
	}
	if _, values, err := sm.Codec.Decode(b); err != nil || values[replacedKey] == nil {
		return
	}
	sm.Remove(ctx, k.cfg.SessionKey)
	sm.Put(ctx, replacedKey, true)
	k.cfg.Logger.Info("prefinery: a request that started before a logout tried to save the logged-out session; saved it signed out")
}

// guardSave is the save check for c's request, with what the cell knows of it.
func (c *identityCell) guardSave() {
	c.kit.guardSave(c.req.Context(), c.wasReplaced(), c.loaded)
}

// storeKey is token as scs keys it in the store: hashed when the manager
// says HashTokenInStore, as scs's own store calls do.
func storeKey(sm *scs.SessionManager, token string) string {
	if !sm.HashTokenInStore {
		return token
	}
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// replaceToken renews the request's session token, as Login and Logout do
// (scs deletes the old entry), and leaves a replaced-session record under
// the old token when its session held a signed-in identifier, until the
// session's own deadline. A signed-out session leaves nothing behind.
func (k *Kit) replaceToken(ctx context.Context) error {
	sm := k.cfg.Sessions
	old, deadline := sm.Token(ctx), sm.Deadline(ctx)
	signedIn := old != "" && sm.GetString(ctx, k.cfg.SessionKey) != ""
	if err := sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("renewing the session token: %w", err)
	}
	sm.Remove(ctx, replacedKey) // a session loaded from a record is a fresh one now
	if !signedIn || !deadline.After(time.Now()) {
		return nil
	}
	record, err := sm.Codec.Encode(deadline, map[string]any{replacedKey: true})
	if err != nil {
		return fmt.Errorf("encoding the replaced-session record: %w", err)
	}
	for _, token := range []string{old, aliasOf(old)} {
		if err := commitToStore(ctx, sm, token, record, deadline); err != nil {
			return fmt.Errorf("recording the replaced session: %w", err)
		}
	}
	return nil
}

// aliasOf is the store token under which a replaced session's record is
// kept beside its own token: derived from it, never a token scs hands out
// (scs's are 43 base64url characters), so no cookie loads it.
func aliasOf(token string) string {
	sum := sha256.Sum256([]byte("prefinery.replaced\x00" + token))
	return "prefinery.replaced." + base64.RawURLEncoding.EncodeToString(sum[:])
}

// findInStore and commitToStore reach the store exactly as scs does: the
// token hashed when the manager says HashTokenInStore, the context passed on
// to stores that take one.
func findInStore(ctx context.Context, sm *scs.SessionManager, token string) ([]byte, bool, error) {
	if cs, ok := sm.Store.(scs.CtxStore); ok {
		return cs.FindCtx(ctx, storeKey(sm, token))
	}
	return sm.Store.Find(storeKey(sm, token))
}

func commitToStore(ctx context.Context, sm *scs.SessionManager, token string, b []byte, expiry time.Time) error {
	if cs, ok := sm.Store.(scs.CtxStore); ok {
		return cs.CommitCtx(ctx, storeKey(sm, token), b, expiry)
	}
	return sm.Store.Commit(storeKey(sm, token), b, expiry)
}
