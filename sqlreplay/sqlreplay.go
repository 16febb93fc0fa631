package sqlreplay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefinerykit/prefinery/webhook"
)

// Retention is how long a processed mark is kept: Prefinery's documented
// retry schedule (15 attempts over about 50 hours) plus a day. A delivery
// verifies only while its timestamp is within the handler's Tolerance (5
// minutes by default), so a mark older than that is never matched again.
const Retention = 72 * time.Hour

// Cleanup's pace: marks are deleted in batches this small, one short
// statement each, at most once per cleanupEvery from Process.
const (
	cleanupBatch   = 500
	cleanupEvery   = 10 * time.Minute
	cleanupTimeout = time.Minute
)

// Store is a webhook.AtomicStore on the app's own SQL database. It is safe
// for concurrent use, by any number of instances sharing the database.
type Store struct {
	db        *sql.DB
	d         *dialect
	retention time.Duration // Retention; shortened by tests

	held sync.Map // key → *claim, for Begin, Finish and Release

	cleaning    atomic.Bool  // a cleanup is running
	lastCleanup atomic.Int64 // when the last one started, UnixNano
}

// The store is what the webhook handler needs.
var _ webhook.AtomicStore = (*Store)(nil)

// New returns a Store on db, which must be a database of the given dialect
// holding the table (see [Store.CreateTable] and the package doc).
func New(db *sql.DB, dialect Dialect) (*Store, error) {
	d, ok := dialects[dialect]
	switch {
	case db == nil:
		return nil, errors.New("sqlreplay: New: a nil *sql.DB")
	case !ok:
		return nil, fmt.Errorf("sqlreplay: New: unknown dialect %d (use Postgres, MariaDB or SQLite)", dialect)
	}
	s := &Store{db: db, d: d, retention: Retention}
	s.lastCleanup.Store(time.Now().UnixNano())
	return s, nil
}

// CreateTable creates the table and its index if they do not exist, with
// the statements the package doc shows for the dialect. Apps with a
// migration tool run those statements there instead.
func (s *Store) CreateTable(ctx context.Context) error {
	for _, stmt := range s.d.schema {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlreplay: creating the table: %w", err)
		}
	}
	return nil
}

// txKey is the context key of the transaction Handle runs in.
type txKey struct{}

// Tx returns the transaction a webhook delivery is processed in, from the
// context Handle receives; nil when ctx carries none (Handle called by a
// handler whose Replays is not a Store). What Handle writes through it
// commits with the delivery's processed mark, or not at all.
func Tx(ctx context.Context) *sql.Tx {
	tx, _ := ctx.Value(txKey{}).(*sql.Tx)
	return tx
}

// Process claims key in a transaction bound to ctx, runs handle with the
// transaction in its context ([Tx]), and commits the processed mark with
// handle's writes if it returned nil; on an error, a panic (which Process
// passes on) or ctx done, everything rolls back. A copy in another transaction is reported
// InProgress at once, a processed delivery Processed.
func (s *Store) Process(ctx context.Context, key string, handle func(context.Context) error) (webhook.Status, error) {
	tx, status, err := s.claim(ctx, key)
	if err != nil || status != webhook.Unseen {
		return status, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op; a panic in handle rolls back too
	if err := handle(context.WithValue(ctx, txKey{}, tx)); err != nil {
		return webhook.Unseen, err
	}
	if err := tx.Commit(); err != nil {
		return webhook.Unseen, fmt.Errorf("sqlreplay: commit: %w", err)
	}
	s.cleanupSometimes()
	return webhook.Unseen, nil
}

// claim begins a transaction and inserts key's mark in it: Unseen with the
// transaction open, or InProgress or Processed with it rolled back.
func (s *Store) claim(ctx context.Context, key string) (*sql.Tx, webhook.Status, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlreplay: begin: %w", err)
	}
	status, err := s.d.claim(ctx, tx, key)
	if err != nil || status != webhook.Unseen {
		_ = tx.Rollback()
		if err != nil && s.d.busy(err) {
			return nil, webhook.InProgress, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("sqlreplay: claim: %w", err)
		}
		return nil, status, nil
	}
	return tx, webhook.Unseen, nil
}

// claim is a transaction Begin opened, held until Finish or Release.
type claim struct {
	tx     *sql.Tx
	cancel context.CancelFunc
}

// Begin claims key in a transaction of its own, held until Finish commits
// or Release rolls it back, or lease lapses (rolled back). It is the
// ReplayStore form, for callers other than the webhook handler, which uses
// Process: without the app's writes in the transaction, effects are
// at-least-once, as with any key-value store.
func (s *Store) Begin(ctx context.Context, key string, lease time.Duration) (webhook.Status, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lease)
	tx, status, err := s.claim(cctx, key)
	if err != nil || status != webhook.Unseen {
		cancel()
		return status, err
	}
	if _, loaded := s.held.LoadOrStore(key, &claim{tx: tx, cancel: cancel}); loaded {
		_ = tx.Rollback()
		cancel()
		return webhook.InProgress, nil
	}
	return webhook.Unseen, nil
}

// Finish commits the mark Begin inserted for key; ttl is ignored (marks are
// kept for Retention).
func (s *Store) Finish(_ context.Context, key string, _ time.Duration) error {
	c, ok := s.held.LoadAndDelete(key)
	if !ok {
		return errors.New("sqlreplay: Finish: no claim held on this key (its lease lapsed)")
	}
	defer c.(*claim).cancel()
	if err := c.(*claim).tx.Commit(); err != nil {
		return fmt.Errorf("sqlreplay: commit: %w", err)
	}
	return nil
}

// Release rolls back the claim Begin took on key.
func (s *Store) Release(_ context.Context, key string) error {
	c, ok := s.held.LoadAndDelete(key)
	if !ok {
		return nil // rolled back already: its lease lapsed
	}
	defer c.(*claim).cancel()
	if err := c.(*claim).tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("sqlreplay: rollback: %w", err)
	}
	return nil
}

// Cleanup deletes the marks older than Retention, in batches of 500 rows,
// each its own short statement, until none is left or ctx is done; it
// reports how many it deleted. Process runs it by itself, in the background,
// at most every 10 minutes; call it from a job of your own if you prefer.
func (s *Store) Cleanup(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := s.d.cleanup(ctx, s.db, int64(s.retention/time.Second), cleanupBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlreplay: cleanup: %w", err)
		}
		if n < cleanupBatch {
			return total, nil
		}
	}
}

// cleanupSometimes starts a Cleanup in the background when none ran for
// cleanupEvery; its error is dropped (the next one retries).
func (s *Store) cleanupSometimes() {
	last := s.lastCleanup.Load()
	if time.Since(time.Unix(0, last)) < cleanupEvery || !s.lastCleanup.CompareAndSwap(last, time.Now().UnixNano()) {
		return
	}
	if !s.cleaning.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.cleaning.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		_, _ = s.Cleanup(ctx)
	}()
}
