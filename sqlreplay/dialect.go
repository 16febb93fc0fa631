package sqlreplay

import (
	"context"
	"database/sql"
	"errors"
	"hash/fnv"
	"strings"

	"github.com/prefinerykit/prefinery/webhook"
)

// Dialect names the SQL database a Store runs on.
type Dialect int

// The dialects, each proven on a real server by the module's tests.
const (
	// Postgres is PostgreSQL (tested on 15), through any driver such as
	// github.com/jackc/pgx/v5/stdlib. A copy's claim fails at once on a
	// transaction-scoped advisory lock.
	Postgres Dialect = iota + 1
	// MariaDB is MariaDB (tested on 10.11) with InnoDB, through
	// github.com/go-sql-driver/mysql. A copy's claim waits for no row lock
	// (SET STATEMENT innodb_lock_wait_timeout=0, which MySQL lacks).
	MariaDB
	// SQLite is SQLite (modernc.org/sqlite), one writer at a time: a
	// delivery waits for the busy timeout (set _pragma=busy_timeout(…) in
	// the DSN, with WAL) while another is in its transaction.
	SQLite
)

// dialect is what differs between databases: the table, the claim, the
// cleanup, and which errors mean "a copy holds the lock".
type dialect struct {
	schema  []string
	claim   func(ctx context.Context, tx *sql.Tx, key string) (webhook.Status, error)
	cleanup func(ctx context.Context, db *sql.DB, olderThanSeconds, limit int64) (int64, error)
	busy    func(error) bool
}

var dialects = map[Dialect]*dialect{
	Postgres: {
		schema: []string{
			`CREATE TABLE IF NOT EXISTS prefinery_webhook_deliveries (
	delivery_key text PRIMARY KEY,
	processed_at timestamptz NOT NULL
)`,
			// BRIN: marks arrive in time order, and a block-range summary costs
			// an insert next to nothing (a B-tree here cost 15 % of the throughput).
			`CREATE INDEX IF NOT EXISTS prefinery_webhook_deliveries_processed_at
	ON prefinery_webhook_deliveries USING brin (processed_at)`,
		},
		claim: func(ctx context.Context, tx *sql.Tx, key string) (webhook.Status, error) {
			n, err := affected(tx.ExecContext(ctx, `INSERT INTO prefinery_webhook_deliveries (delivery_key, processed_at)
	SELECT $3, now() WHERE pg_try_advisory_xact_lock($1::int4, $2::int4) ON CONFLICT (delivery_key) DO NOTHING`, advisoryClass, lockID(key), key))
			switch {
			case err != nil:
				return 0, err
			case n == 1:
				return webhook.Unseen, nil
			}
			// A copy holds the lock, or the mark is there: which one is rare
			// enough (copies only) to ask in a second statement.
			var processed bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM prefinery_webhook_deliveries WHERE delivery_key = $1)`, key).Scan(&processed); err != nil {
				return 0, err
			}
			if processed {
				return webhook.Processed, nil
			}
			return webhook.InProgress, nil
		},
		cleanup: func(ctx context.Context, db *sql.DB, olderThan, limit int64) (int64, error) {
			return affected(db.ExecContext(ctx, `DELETE FROM prefinery_webhook_deliveries WHERE delivery_key IN (
	SELECT delivery_key FROM prefinery_webhook_deliveries
	WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)`, olderThan, limit))
		},
		busy: func(err error) bool {
			var e interface{ SQLState() string }
			if !errors.As(err, &e) {
				return false
			}
			switch e.SQLState() {
			case "40001", "40P01", "55P03": // serialization failure, deadlock, lock not available
				return true
			}
			return false
		},
	},
	MariaDB: {
		schema: []string{
			`CREATE TABLE IF NOT EXISTS prefinery_webhook_deliveries (
	delivery_key VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
	processed_at DATETIME(6) NOT NULL,
	INDEX prefinery_webhook_deliveries_processed_at (processed_at)
) ENGINE=InnoDB`,
		},
		claim: func(ctx context.Context, tx *sql.Tx, key string) (webhook.Status, error) {
			res, err := tx.ExecContext(ctx, `SET STATEMENT innodb_lock_wait_timeout=0 FOR
INSERT IGNORE INTO prefinery_webhook_deliveries (delivery_key, processed_at) VALUES (?, UTC_TIMESTAMP(6))`, key)
			return inserted(affected(res, err))
		},
		cleanup: func(ctx context.Context, db *sql.DB, olderThan, limit int64) (int64, error) {
			// Read committed: the delete locks the rows it deletes, not the gaps new marks go into.
			tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
			if err != nil {
				return 0, err
			}
			defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
			n, err := affected(tx.ExecContext(ctx, `DELETE FROM prefinery_webhook_deliveries
WHERE processed_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND ORDER BY processed_at LIMIT ?`, olderThan, limit))
			if err != nil {
				return 0, err
			}
			return n, tx.Commit()
		},
		busy: func(err error) bool {
			// go-sql-driver/mysql's MySQLError has no method to ask; its text
			// starts with the server's error number.
			msg := err.Error()
			return strings.HasPrefix(msg, "Error 1205") || strings.HasPrefix(msg, "Error 1213") // lock wait timeout, deadlock
		},
	},
	SQLite: {
		schema: []string{
			`CREATE TABLE IF NOT EXISTS prefinery_webhook_deliveries (
	delivery_key TEXT PRIMARY KEY,
	processed_at INTEGER NOT NULL
) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS prefinery_webhook_deliveries_processed_at
	ON prefinery_webhook_deliveries (processed_at)`,
		},
		claim: func(ctx context.Context, tx *sql.Tx, key string) (webhook.Status, error) {
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO prefinery_webhook_deliveries (delivery_key, processed_at) VALUES (?, unixepoch())`, key)
			return inserted(affected(res, err))
		},
		cleanup: func(ctx context.Context, db *sql.DB, olderThan, limit int64) (int64, error) {
			return affected(db.ExecContext(ctx, `DELETE FROM prefinery_webhook_deliveries WHERE delivery_key IN (
	SELECT delivery_key FROM prefinery_webhook_deliveries WHERE processed_at < unixepoch() - ? LIMIT ?)`, olderThan, limit))
		},
		busy: func(err error) bool {
			var e interface{ Code() int }
			if errors.As(err, &e) {
				switch e.Code() & 0xff {
				case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
					return true
				}
			}
			return false
		},
	},
}

// advisoryClass is the first key of PostgreSQL's two-key advisory locks the
// store takes ("PREF"); two-key locks never collide with one-key ones.
const advisoryClass int32 = 0x50524546

// lockID is the second key: a hash of the delivery key. Two deliveries that
// share it (one in 4 billion) only delay each other: the second gets a 429.
func lockID(key string) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32())
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// inserted reads an INSERT that ignores an existing key.
func inserted(n int64, err error) (webhook.Status, error) {
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return webhook.Processed, nil
	}
	return webhook.Unseen, nil
}
