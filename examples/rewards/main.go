// Command rewards grants points from Prefinery's webhook deliveries in the
// app's own database, exactly once: each grant commits in the transaction
// that marks its delivery processed (sqlreplay), so a copy, or a crash and
// Prefinery's retry, never grants twice and never loses a grant. SQLite by
// default (a file beside it); DATABASE_URL=postgres://… or mysql://… for
// PostgreSQL or MariaDB. Run it from this directory:
//
//	go run .
//	prefinery-sign webhook -post http://127.0.0.1:8082/webhooks/prefinery event.json
//	curl http://127.0.0.1:8082/points
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/sqlreplay"
	"github.com/prefinerykit/prefinery/webhook"
	_ "modernc.org/sqlite"
)

// pointsPerDelivery is what one delivery naming an e-mail grants.
const pointsPerDelivery = 10

// demoSecret is public: only for trying the example with prefinery-sign.
const demoSecret = "DEMO-ONLY-webhook-secret-prefinery-kit"

// openDatabase opens DATABASE_URL: empty for SQLite in rewards.db,
// sqlite:PATH, postgres://… (pgx) or mysql://user:password@host:port/db
// (go-sql-driver/mysql, MariaDB).
func openDatabase(databaseURL string) (*sql.DB, sqlreplay.Dialect, error) {
	switch {
	case databaseURL == "" || strings.HasPrefix(databaseURL, "sqlite:"):
		path := strings.TrimPrefix(databaseURL, "sqlite:")
		if path == "" {
			path = "rewards.db"
		}
		// WAL and a busy timeout: one writer at a time, the others wait up to 1 s.
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(1000)&_pragma=journal_mode(WAL)")
		return db, sqlreplay.SQLite, err
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		db, err := sql.Open("pgx", databaseURL)
		return db, sqlreplay.Postgres, err
	case strings.HasPrefix(databaseURL, "mysql://"):
		u, err := url.Parse(databaseURL)
		if err != nil {
			return nil, 0, fmt.Errorf("DATABASE_URL: %w", err)
		}
		dsn := u.User.String() + "@tcp(" + u.Host + ")" + u.Path
		if u.RawQuery != "" {
			dsn += "?" + u.RawQuery
		}
		db, err := sql.Open("mysql", dsn)
		return db, sqlreplay.MariaDB, err
	}
	return nil, 0, errors.New("DATABASE_URL: use postgres://…, mysql://… or sqlite:PATH (empty: SQLite in rewards.db)")
}

// app is the rewards app: its database, the webhook handler, the points page.
type app struct {
	db      *sql.DB
	dialect sqlreplay.Dialect
	http.Handler
}

// newApp creates the tables (the app's ledger and the replay store's) and
// the routes: POST /webhooks/prefinery, GET /points.
func newApp(ctx context.Context, db *sql.DB, dialect sqlreplay.Dialect, secret prefinery.Secret) (*app, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS reward_grants (
	email VARCHAR(254) NOT NULL,
	points INTEGER NOT NULL,
	sent_at BIGINT NOT NULL
)`); err != nil {
		return nil, err
	}
	replays, err := sqlreplay.New(db, dialect)
	if err != nil {
		return nil, err
	}
	if err := replays.CreateTable(ctx); err != nil {
		return nil, err
	}
	a := &app{db: db, dialect: dialect}
	webhooks, err := webhook.NewHandler(webhook.Config{Secrets: []prefinery.Secret{secret}, Replays: replays, Handle: a.grant})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/prefinery", webhooks)
	mux.HandleFunc("GET /points", a.points)
	a.Handler = mux
	return a, nil
}

// grant is the webhook's Handle: it grants points to the delivery's e-mail
// through the delivery's transaction, so the grant and the processed mark
// commit together. A delivery that names no e-mail grants nothing.
func (a *app) grant(ctx context.Context, d webhook.Delivery) error {
	email := recipient(d.Body)
	if email == "" {
		return nil
	}
	q := `INSERT INTO reward_grants (email, points, sent_at) VALUES (?, ?, ?)`
	if a.dialect == sqlreplay.Postgres {
		q = `INSERT INTO reward_grants (email, points, sent_at) VALUES ($1, $2, $3)`
	}
	_, err := sqlreplay.Tx(ctx).ExecContext(ctx, q, email, pointsPerDelivery, d.SentAt.Unix())
	return err
}

// recipient finds the e-mail a delivery is about: an "email" string at the
// top level of the JSON object or in an object one level down. Prefinery's
// payload shape is not documented in the pages we could read: adjust this to
// the events your project sends.
func recipient(body []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	var email string
	if json.Unmarshal(top["email"], &email) == nil && email != "" {
		return email
	}
	for _, v := range top {
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil && json.Unmarshal(inner["email"], &email) == nil && email != "" {
			return email
		}
	}
	return ""
}

// points lists each e-mail's points, as JSON.
func (a *app) points(w http.ResponseWriter, r *http.Request) {
	rows, err := a.db.QueryContext(r.Context(), `SELECT email, SUM(points) FROM reward_grants GROUP BY email ORDER BY email`)
	if err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	defer rows.Close()
	points := map[string]int64{}
	for rows.Next() {
		var email string
		var n int64
		if err := rows.Scan(&email, &n); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		points[email] = n
	}
	if rows.Err() != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(points)
}

func main() {
	secret, err := prefinery.SecretFromEnv("PREFINERY_WEBHOOK_SECRET")
	if _, set := os.LookupEnv("PREFINERY_WEBHOOK_SECRET"); !set {
		log.Print("PREFINERY_WEBHOOK_SECRET is not set: using a public DEMO secret (sign test deliveries with it)")
		secret, err = prefinery.NewSecret(demoSecret)
	}
	if err != nil {
		log.Fatal(err)
	}
	db, dialect, err := openDatabase(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	a, err := newApp(context.Background(), db, dialect, secret)
	if err != nil {
		log.Fatal(err)
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8082"
	}
	// WriteTimeout above Prefinery's 15 s: the handler answers within 14 s.
	srv := &http.Server{Addr: addr, Handler: a, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 20 * time.Second}
	log.Printf("rewards: POST http://%s/webhooks/prefinery, GET http://%s/points", addr, addr)
	log.Fatal(srv.ListenAndServe())
}
