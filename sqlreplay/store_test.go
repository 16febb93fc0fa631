package sqlreplay

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// createEffects creates the app's table the tests write to: no unique key,
// so a doubled effect shows as a second row.
func createEffects(t testing.TB, db *sql.DB) {
	t.Helper()
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS effects (delivery VARCHAR(64) NOT NULL, part INT NOT NULL)`)
	require.NoError(t, err)
}

// ph is the dialect's n-th placeholder.
func (s *server) ph(n int) string {
	if s.dialect == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// writeEffect inserts one row of delivery's effect through tx.
func (s *server) writeEffect(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, delivery string, part int) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO effects (delivery, part) VALUES ("+s.ph(1)+", "+s.ph(2)+")", delivery, part)
	return err
}

// effects counts delivery's rows.
func (s *server) effects(t testing.TB, db *sql.DB, delivery string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM effects WHERE delivery = "+s.ph(1), delivery).Scan(&n))
	return n
}

// marks counts the table's rows.
func marks(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM prefinery_webhook_deliveries").Scan(&n))
	return n
}

// TestProcess: a delivery's writes commit with its mark; a copy after it is
// Processed without running handle; a failure, a panic's error or a context
// done rolls both back, and the retry runs handle again.
func TestProcess(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *server) {
		st, db := s.store(t)
		createEffects(t, db)
		ctx := context.Background()
		write := func(delivery string, result error) func(context.Context) error {
			return func(ctx context.Context) error {
				require.NotNil(t, Tx(ctx), "the transaction is in the context")
				if err := s.writeEffect(ctx, Tx(ctx), delivery, 1); err != nil {
					return err
				}
				return result
			}
		}
		status, err := st.Process(ctx, "k1", write("d1", nil))
		require.NoError(t, err)
		assert.Equal(t, webhook.Unseen, status)
		status, err = st.Process(ctx, "k1", func(context.Context) error { t.Error("handle ran for a processed delivery"); return nil })
		require.NoError(t, err)
		assert.Equal(t, webhook.Processed, status)
		assert.Equal(t, 1, s.effects(t, db, "d1"))

		failed := errors.New("the app failed")
		status, err = st.Process(ctx, "k2", write("d2", failed))
		assert.Equal(t, webhook.Unseen, status)
		assert.ErrorIs(t, err, failed)
		assert.Equal(t, 0, s.effects(t, db, "d2"), "rolled back with the mark")
		cctx, cancel := context.WithCancel(ctx)
		_, err = st.Process(cctx, "k2", func(ctx context.Context) error {
			require.NoError(t, s.writeEffect(ctx, Tx(ctx), "d2", 1))
			cancel() // the budget runs out after the write
			return nil
		})
		assert.Error(t, err, "a context done before the commit")
		assert.Equal(t, 0, s.effects(t, db, "d2"), "never half-committed")
		status, err = st.Process(ctx, "k2", write("d2", nil))
		require.NoError(t, err)
		assert.Equal(t, webhook.Unseen, status, "the retry runs it")
		assert.Equal(t, 1, s.effects(t, db, "d2"))
		assert.Equal(t, 2, marks(t, db))
		assert.Nil(t, Tx(ctx), "no transaction outside Process")
	})
}

// TestCopyWhileInTransaction: a copy arriving while the first is in its
// transaction is InProgress at once (SQLite: within its busy timeout), a
// different delivery is not held up (PostgreSQL, MariaDB), and once the
// first commits the copy is Processed.
func TestCopyWhileInTransaction(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *server) {
		st, db := s.store(t)
		createEffects(t, db)
		ctx := context.Background()
		inside, release := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			_, err := st.Process(ctx, "same", func(ctx context.Context) error {
				if err := s.writeEffect(ctx, Tx(ctx), "same", 1); err != nil {
					return err
				}
				close(inside)
				<-release
				return nil
			})
			first <- err
		}()
		<-inside
		start := time.Now()
		status, err := st.Process(ctx, "same", func(context.Context) error { t.Error("a copy ran"); return nil })
		require.NoError(t, err)
		assert.Equal(t, webhook.InProgress, status)
		limit := 500 * time.Millisecond
		if s.dialect == SQLite {
			limit = 1500 * time.Millisecond // the DSN's busy timeout is 1 s
		}
		assert.Less(t, time.Since(start), limit, "answered at once")
		if s.dialect != SQLite {
			start = time.Now()
			status, err = st.Process(ctx, "other", func(ctx context.Context) error { return s.writeEffect(ctx, Tx(ctx), "other", 1) })
			require.NoError(t, err)
			assert.Equal(t, webhook.Unseen, status, "another delivery is processed meanwhile")
			assert.Less(t, time.Since(start), limit)
		}
		close(release)
		require.NoError(t, <-first)
		status, err = st.Process(ctx, "same", func(context.Context) error { t.Error("a copy ran"); return nil })
		require.NoError(t, err)
		assert.Equal(t, webhook.Processed, status)
		assert.Equal(t, 1, s.effects(t, db, "same"))
	})
}

// TestBeginFinishRelease: the ReplayStore form holds its claim in a
// transaction: a copy is InProgress, Release rolls it back, Finish commits
// it, and an unreleased claim lapses with its lease.
func TestBeginFinishRelease(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *server) {
		st, _ := s.store(t)
		ctx := context.Background()
		begin := func(key string, lease time.Duration) webhook.Status {
			t.Helper()
			status, err := st.Begin(ctx, key, lease)
			require.NoError(t, err)
			return status
		}
		assert.Equal(t, webhook.Unseen, begin("k", time.Minute))
		assert.Equal(t, webhook.InProgress, begin("k", time.Minute))
		require.NoError(t, st.Release(ctx, "k"))
		assert.Equal(t, webhook.Unseen, begin("k", time.Minute), "released: processed on the retry")
		require.NoError(t, st.Finish(ctx, "k", time.Hour))
		assert.Equal(t, webhook.Processed, begin("k", time.Minute))
		assert.Equal(t, webhook.Unseen, begin("lapses", 200*time.Millisecond))
		time.Sleep(400 * time.Millisecond)
		require.Error(t, st.Finish(ctx, "lapses", time.Hour), "its lease lapsed: rolled back")
		assert.Equal(t, webhook.Unseen, begin("lapses", time.Minute))
		require.NoError(t, st.Release(ctx, "lapses"))
	})
}

// TestCleanup: marks older than the retention are deleted in batches while
// deliveries go on, none of them held up; recent marks stay.
func TestCleanup(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *server) {
		st, db := s.store(t)
		createEffects(t, db)
		ctx := context.Background()
		for i := range 700 { // more than a batch (500)
			status, err := st.Process(ctx, "old-"+strconv.Itoa(i), func(context.Context) error { return nil })
			require.NoError(t, err)
			require.Equal(t, webhook.Unseen, status)
		}
		if s.dialect == SQLite {
			time.Sleep(1100 * time.Millisecond) // SQLite's marks have whole seconds
		}
		st.retention = time.Second
		time.Sleep(time.Second)
		var wg sync.WaitGroup
		var slowest time.Duration
		wg.Go(func() {
			for i := range 100 {
				start := time.Now()
				status, err := st.Process(ctx, "new-"+strconv.Itoa(i), func(ctx context.Context) error {
					return s.writeEffect(ctx, Tx(ctx), "new", 1)
				})
				slowest = max(slowest, time.Since(start))
				assert.NoError(t, err)
				assert.Equal(t, webhook.Unseen, status)
			}
		})
		deleted, err := st.Cleanup(ctx)
		wg.Wait()
		require.NoError(t, err)
		assert.GreaterOrEqual(t, deleted, int64(700))
		assert.Less(t, slowest, time.Second, "no delivery held up by the cleanup")
		st.retention = Retention
		deleted, err = st.Cleanup(ctx)
		require.NoError(t, err)
		assert.Zero(t, deleted, "recent marks stay")
		assert.LessOrEqual(t, marks(t, db), 100)
		assert.Equal(t, 100, s.effects(t, db, "new"))
	})
}

// TestHandlerOverDialects: through webhook.NewHandler, a delivery is
// answered 200 "received" and its copy 200 "already received"; a copy while
// the first is in its transaction 429 "being processed"; a Handle past
// Budget 429 with nothing committed; a panic 429; the retry 200, the effect
// once.
func TestHandlerOverDialects(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *server) {
		st, db := s.store(t)
		createEffects(t, db)
		secret := testSecret(t)
		inside, release := make(chan struct{}), make(chan struct{})
		var overrun, panicked sync.Once
		const budget = 2 * time.Second // over SQLite's busy timeout (1 s), which a copy waits
		h, err := webhook.NewHandler(webhook.Config{Secrets: []prefinery.Secret{secret}, Replays: st, Budget: budget,
			Handle: func(ctx context.Context, d webhook.Delivery) error {
				id := string(d.Body)
				if err := s.writeEffect(ctx, Tx(ctx), id, 1); err != nil {
					return err
				}
				switch id {
				case `"slow"`:
					close(inside)
					<-release
				case `"overrun"`:
					overrun.Do(func() { time.Sleep(budget + 500*time.Millisecond) })
				case `"panic"`:
					panicked.Do(func() { panic("boom") })
				}
				return nil
			}})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		post := func(body string, at time.Time) (int, string) {
			header, err := webhook.Sign(secret, at, []byte(body))
			require.NoError(t, err)
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			req.Header.Set(webhook.Header, header)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, strings.TrimSpace(string(b))
		}
		at := time.Now()
		assert.Equal(t, []any{200, `{"status":"received"}`}, pair(post(`"ok"`, at)))
		assert.Equal(t, []any{200, `{"status":"already received"}`}, pair(post(`"ok"`, at)))
		first := make(chan int)
		go func() { code, _ := post(`"slow"`, at); first <- code }()
		<-inside
		assert.Equal(t, []any{429, `{"error":"being processed; try again later"}`}, pair(post(`"slow"`, at)))
		close(release)
		assert.Equal(t, 200, <-first)
		start := time.Now()
		code, _ := post(`"overrun"`, at)
		assert.Equal(t, 429, code)
		assert.Less(t, time.Since(start), budget+400*time.Millisecond, "answered at the budget")
		time.Sleep(700 * time.Millisecond) // Handle returns; its transaction was rolled back
		assert.Equal(t, 0, s.effects(t, db, `"overrun"`), "past Budget: nothing committed")
		assert.Equal(t, []any{200, `{"status":"received"}`}, pair(post(`"overrun"`, at)))
		code, _ = post(`"panic"`, at)
		assert.Equal(t, 429, code)
		assert.Equal(t, 200, first2(post(`"panic"`, at)))
		for _, id := range []string{`"ok"`, `"slow"`, `"overrun"`, `"panic"`} {
			assert.Equal(t, 1, s.effects(t, db, id), id)
		}
	})
}

func pair(code int, body string) []any { return []any{code, body} }
func first2(code int, _ string) int    { return code }

// testSecret is the tests' webhook signing secret.
func testSecret(t testing.TB) prefinery.Secret {
	s, err := prefinery.NewSecret("whsec-sqlreplay-0123456789abcdef")
	require.NoError(t, err)
	return s
}

// TestSchemaDocumented: the package doc shows each dialect's statements
// exactly as CreateTable runs them.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	text := strings.ReplaceAll(string(doc), "\n//\t", "\n")
	for name, d := range dialects {
		for _, stmt := range d.schema {
			assert.Contains(t, text, stmt+";", "dialect %d", name)
		}
	}
}

// TestTableSize: what the package doc says a mark costs on PostgreSQL,
// measured over 10,000 marks (table, key index and time index).
func TestTableSize(t *testing.T) {
	s := startPostgres(t)
	st, db := s.store(t)
	_, err := db.Exec(`INSERT INTO prefinery_webhook_deliveries (delivery_key, processed_at)
		SELECT 'prefinery-webhook:' || encode(sha256(i::text::bytea), 'hex'), now() FROM generate_series(1, 10000) AS i`)
	require.NoError(t, err)
	_, err = db.Exec(`VACUUM ANALYZE prefinery_webhook_deliveries`)
	require.NoError(t, err)
	var bytes int64
	require.NoError(t, db.QueryRow(`SELECT pg_total_relation_size('prefinery_webhook_deliveries')`).Scan(&bytes))
	t.Logf("%d bytes a mark on PostgreSQL", bytes/10000)
	assert.Less(t, bytes/10000, int64(300), "the package doc's figure")
	_ = st // the table, created
}
