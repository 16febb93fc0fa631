package sqlreplay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/webhook"
	"github.com/stretchr/testify/require"
)

const benchSecret = "whsec-bench-0123456789abcdef"

// handWritten is the webhook handler an app would write by hand for the
// same guarantee on PostgreSQL: verify the signature with crypto/hmac, then
// in one transaction INSERT … ON CONFLICT DO NOTHING the delivery's mark and,
// if it was new, the app's write.
func handWritten(db *sql.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		var t, v1 string
		for part := range strings.SplitSeq(r.Header.Get(webhook.Header), ",") {
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "t":
				t = v
			case "v1":
				v1 = v
			}
		}
		sec, err := strconv.ParseInt(t, 10, 64)
		mac := hmac.New(sha256.New, []byte(benchSecret))
		mac.Write([]byte(t + "."))
		mac.Write(body)
		if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute || !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(v1)) {
			http.Error(w, "try again later", http.StatusTooManyRequests)
			return
		}
		key := sha256.Sum256(append([]byte(t+"."), body...))
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			http.Error(w, "try again later", http.StatusTooManyRequests)
			return
		}
		defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
		res, err := tx.ExecContext(ctx, `INSERT INTO hand_marks (delivery_key, processed_at) VALUES ($1, now()) ON CONFLICT DO NOTHING`, hex.EncodeToString(key[:]))
		if err != nil {
			http.Error(w, "try again later", http.StatusTooManyRequests)
			return
		}
		if n, _ := res.RowsAffected(); n == 0 {
			w.Write([]byte(`{"status":"already received"}`))
			return
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO effects (delivery, part) VALUES ($1, 1)`, string(body)); err != nil {
			http.Error(w, "try again later", http.StatusTooManyRequests)
			return
		}
		if err := tx.Commit(); err != nil {
			http.Error(w, "try again later", http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(`{"status":"received"}`))
	})
}

// BenchmarkDelivery: new deliveries per second over PostgreSQL through the
// kit with this store (impl=kit), beside the hand-written handler doing the
// same work (impl=hand: verify; the mark and the app's write in one
// transaction), 8 at a time, over loopback HTTP, on one server.
// SQLREPLAY_BENCH_ROUNDS interleaves that many rounds (kit then hand, hand
// then kit, …) for benchstat -col /impl -ignore /round (bench.sh).
func BenchmarkDelivery(b *testing.B) {
	s := startPostgres(b)
	db := s.open(b)
	db.SetMaxIdleConns(32)
	createEffects(b, db)
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS hand_marks (delivery_key text PRIMARY KEY, processed_at timestamptz NOT NULL)`)
	require.NoError(b, err)
	st, err := New(db, Postgres)
	require.NoError(b, err)
	require.NoError(b, st.CreateTable(context.Background()))
	secret, err := prefinery.NewSecret(benchSecret)
	require.NoError(b, err)
	kit, err := webhook.NewHandler(webhook.Config{Secrets: []prefinery.Secret{secret}, Replays: st, Logger: slog.New(slog.DiscardHandler),
		Handle: func(ctx context.Context, d webhook.Delivery) error {
			_, err := Tx(ctx).ExecContext(ctx, `INSERT INTO effects (delivery, part) VALUES ($1, 1)`, string(d.Body))
			return err
		}})
	require.NoError(b, err)
	var n atomic.Int64
	rounds, _ := strconv.Atoi(os.Getenv("SQLREPLAY_BENCH_ROUNDS"))
	impls := []struct {
		name string
		h    http.Handler
	}{{"kit", kit}, {"hand", handWritten(db)}}
	for round := range max(rounds, 1) {
		for i := range impls {
			impl := impls[(i+round)%2] // kit first, then hand first, …
			b.Run("round="+strconv.Itoa(round)+"/impl="+impl.name, func(b *testing.B) {
				srv := httptest.NewServer(impl.h)
				defer srv.Close()
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				b.ReportAllocs()
				b.SetParallelism(4) // 8 senders on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						body := `{"event":"tester_created","n":` + strconv.FormatInt(n.Add(1), 10) + `}`
						header, err := webhook.Sign(secret, time.Now(), []byte(body))
						if err != nil {
							b.Error(err)
							return
						}
						req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
						req.Header.Set(webhook.Header, header)
						res, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							b.Errorf("status %d", res.StatusCode)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			})
		}
	}
}
