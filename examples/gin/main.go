// Command gin runs the gin example (package server). Run it from this
// directory:
//
//	go run .
package main

import (
	"log"
	"os"

	"github.com/prefinerykit/prefinery"
	"github.com/prefinerykit/prefinery/examples/gin/server"
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
	r, err := server.New(secret, "https://widget.prefinery.com/widget/v2/ab12cd34.js")
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(r.Run("127.0.0.1:8083"))
}
