// Command basic is the prefinery demo: run it with
//
//	go run ./examples/basic
//
// and open the URL it prints. Without PREFINERY_IDENTITY_SECRET it uses a
// built-in demo secret; without a project key it loads an offline stand-in for
// Prefinery's widget that shows every call on the page. Sessions live in
// memory; examples/redis runs the same app on Redis, as several instances.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/prefinerykit/prefinery/examples/basic/app"
)

func main() {
	err := app.Run(flag.NewFlagSet("basic", flag.ContinueOnError), os.Args[1:], func() (app.Sessions, error) {
		return app.Sessions{Manager: app.NewSessions(nil), Where: "memory (one instance)"}, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}
