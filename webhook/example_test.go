package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/webhook"
)

// Prefinery's webhooks: verify each delivery and hand the raw body to the
// app, which queues the work and returns at once. A failure answers 429, so
// Prefinery retries; only ErrUnsubscribe answers 410.
func ExampleNewHandler() {
	signing, err := prefinery.NewSecret("whsec-example-0123456789abcdef") // SecretFromEnv("PREFINERY_WEBHOOK_SECRET") in an app
	if err != nil {
		log.Fatal(err)
	}
	events := make(chan webhook.Delivery, 100)
	webhooks, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{signing},
		Handle: func(ctx context.Context, d webhook.Delivery) error {
			select {
			case events <- d: // work asynchronously, in d.SentAt order; the same event may still come twice, re-signed
				return nil
			case <-ctx.Done():
				return ctx.Err() // 429: Prefinery retries
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/prefinery", webhooks)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/prefinery", strings.NewReader(`{}`)))
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output: 400 {"error":"missing or repeated signature header"}
}

// A test of the app's own webhook route signs a delivery the way Prefinery
// does, with the test's signing secret.
func ExampleSign() {
	signing, err := prefinery.NewSecret("whsec-example-0123456789abcdef")
	if err != nil {
		log.Fatal(err)
	}
	webhooks, err := webhook.NewHandler(webhook.Config{
		Secrets: []prefinery.Secret{signing},
		Handle:  func(context.Context, webhook.Delivery) error { return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	body := `{"event":"tester_created"}`
	header, err := webhook.Sign(signing, time.Now(), []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/prefinery", strings.NewReader(body))
	req.Header.Set(webhook.Header, header)
	rec := httptest.NewRecorder()
	webhooks.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output: 200 {"status":"received"}
}
