// Command templ runs the templ example (package server). Run it from this
// directory:
//
//	go run .
package main

import (
	"log"
	"net/http"
	"os"
	"time"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/examples/templ/server"
	"github.com/prefinerykit/prefinery/standin"
)

func main() {
	secret, err := prefinery.SecretFromEnv("PREFINERY_IDENTITY_SECRET")
	if _, set := os.LookupEnv("PREFINERY_IDENTITY_SECRET"); !set {
		log.Print("PREFINERY_IDENTITY_SECRET is not set: using a DEMO secret Prefinery will reject")
		secret, err = prefinery.NewSecret(standin.DemoSecret)
	}
	if err != nil {
		log.Fatal(err)
	}
	handler, err := server.New(secret, "https://widget.prefinery.com/widget/v2/ab12cd34.js")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:8084", Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
