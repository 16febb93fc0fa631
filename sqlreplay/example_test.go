package sqlreplay_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/sqlreplay"
	"github.com/prefinerykit/prefinery/webhook"
	_ "modernc.org/sqlite"
)

// An app that grants points from Prefinery's deliveries in its own SQLite
// database: the grant commits with the delivery's processed mark, so a copy
// (or a crash and the retry) never grants twice.
func Example() {
	dir, err := os.MkdirTemp("", "sqlreplay-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(1000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE points (delivery TEXT NOT NULL, points INTEGER NOT NULL)`); err != nil {
		log.Fatal(err)
	}

	replays, err := sqlreplay.New(db, sqlreplay.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	if err := replays.CreateTable(context.Background()); err != nil { // or the package doc's SQL in a migration
		log.Fatal(err)
	}
	signing, err := prefinery.NewSecret("whsec-example-0123456789abcdef") // SecretFromEnv("PREFINERY_WEBHOOK_SECRET") in an app
	if err != nil {
		log.Fatal(err)
	}
	webhooks, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{signing},
		Replays: replays,
		Handle: func(ctx context.Context, d webhook.Delivery) error {
			_, err := sqlreplay.Tx(ctx).ExecContext(ctx, `INSERT INTO points (delivery, points) VALUES (?, 10)`, string(d.Body))
			return err
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	body := `{"event":"tester_created"}`
	header, err := webhook.Sign(signing, time.Now(), []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	for range 2 { // a delivery and its copy
		req := httptest.NewRequest(http.MethodPost, "/webhooks/prefinery", strings.NewReader(body))
		req.Header.Set(webhook.Header, header)
		rec := httptest.NewRecorder()
		webhooks.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	var total int
	if err := db.QueryRow(`SELECT SUM(points) FROM points`).Scan(&total); err != nil {
		log.Fatal(err)
	}
	fmt.Println("points granted:", total)
	// Output:
	// 200 {"status":"received"}
	// 200 {"status":"already received"}
	// points granted: 10
}
