// Package sqlreplay is a [webhook.AtomicStore] on the app's own SQL database,
// through database/sql and any driver: a Prefinery delivery's claim, the
// app's writes and the processed mark commit in one transaction. A crash at
// any point rolls all three back, so Prefinery's retry processes the delivery
// once, and a copy finds the mark.
//
// The package [Example] shows the store beside the webhook handler, with
// Handle writing through [Tx], as code the compiler checks.
//
// # What each store guarantees
//
// A delivery here is what Prefinery signed: its timestamp and body. Measured
// by this module's crash harness (app instances SIGKILLed before Handle,
// inside it, after its writes and before the commit, after the commit and
// before the answer, then Prefinery's retry; 1,000 deliveries with 30 %
// duplicates, random kills, two instances):
//
//	store                     writes through Tx(ctx)      other effects (e-mail, API calls)
//	sqlreplay                 exactly once                at least once
//	redisreplay               at least once               at least once
//	webhook's in-memory       at least once, one process  at least once
//
// With redisreplay the app's writes commit in their own database before the
// processed mark reaches Redis: an instance killed between the two leaves
// the delivery to be processed again once its claim lapses (TestLoadRedis
// counted 6 and 15 doubled effects in 1,000 deliveries in two runs). Nothing
// but a transaction of the database that holds the effect closes that gap.
// What Handle does outside the transaction (an e-mail, a call to another
// service, a write through another *sql.DB) may be repeated by a retry after
// a crash: do it after the commit from a queue written in the transaction
// (an outbox), or make it idempotent.
//
// If Prefinery signs a retry anew (a new timestamp), it is a new delivery to
// the kit; to have its effect once too, give the app's own table a unique key
// on the event's identity and insert with ON CONFLICT DO NOTHING (INSERT
// IGNORE) in the same transaction.
//
// # Copies, budgets and crashes
//
// A copy that arrives while the first is in its transaction is answered 429
// at once: PostgreSQL takes a transaction-scoped advisory lock with
// pg_try_advisory_xact_lock; MariaDB inserts with innodb_lock_wait_timeout=0;
// SQLite, which has one writer at a time, waits for the DSN's busy timeout
// (set _pragma=busy_timeout(1000) and journal_mode(WAL); keep the timeout
// well under Budget, or a copy is answered 429 for running past it). A processed
// delivery is answered 200 "already received". The transaction is bound to
// the handler's Budget: a Handle that runs past it has its transaction rolled
// back (never half-committed) and the delivery is answered 429, within 14 s
// like every answer. A crashed instance's transaction dies with its
// connection, its lock with it, so the retry is processed at once; a
// database restart mid-delivery fails the transaction (429) and the retry
// succeeds.
//
// # The table
//
// One row per processed delivery, committed with its effects, named
// prefinery_webhook_deliveries. [Store.CreateTable] runs these statements
// (IF NOT EXISTS); an app with migrations runs them there instead.
//
// PostgreSQL:
//
//	CREATE TABLE IF NOT EXISTS prefinery_webhook_deliveries (
//		delivery_key text PRIMARY KEY,
//		processed_at timestamptz NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS prefinery_webhook_deliveries_processed_at
//		ON prefinery_webhook_deliveries USING brin (processed_at);
//
// MariaDB:
//
//	CREATE TABLE IF NOT EXISTS prefinery_webhook_deliveries (
//		delivery_key VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
//		processed_at DATETIME(6) NOT NULL,
//		INDEX prefinery_webhook_deliveries_processed_at (processed_at)
//	) ENGINE=InnoDB;
//
// SQLite:
//
//	CREATE TABLE IF NOT EXISTS prefinery_webhook_deliveries (
//		delivery_key TEXT PRIMARY KEY,
//		processed_at INTEGER NOT NULL
//	) WITHOUT ROWID;
//	CREATE INDEX IF NOT EXISTS prefinery_webhook_deliveries_processed_at
//		ON prefinery_webhook_deliveries (processed_at);
//
// # Size
//
// A mark is an 82-byte key and a timestamp: with its indexes, about 280
// bytes on PostgreSQL (TestTableSize; a B-tree on the key, a BRIN on the
// time, which costs an insert next to nothing). Marks are kept for
// [Retention] (72 hours: Prefinery's retry schedule of about 50 hours, plus
// a day) and then deleted by [Store.Cleanup], which Process starts in the
// background at most every 10 minutes: batches of 500 rows, one short
// statement each, that lock only the old rows they delete (FOR UPDATE SKIP
// LOCKED on PostgreSQL, READ COMMITTED on MariaDB), so deliveries never
// wait for it. The table holds about three days of deliveries: 10,000 a day
// is 30,000 rows, under 10 MB.
package sqlreplay
