// Command prefinery-sign computes and checks Prefinery Identity Verification
// signatures with the same code the kit runs in the app, for when a page's
// authenticateUser or getUser call gets a 403 from Prefinery.
//
// Install it from a clone of the repository (until the module is published,
// go install …@latest finds nothing):
//
//	git clone https://github.com/prefinerykit/prefinery && cd prefinery
//	go install ./cmd/prefinery-sign
//
// The secret comes from the PREFINERY_IDENTITY_SECRET environment variable or
// from a file (-secret-file), never from a flag value, which would land in the
// shell history and in ps. Run prefinery-sign -h for usage and exit codes.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}
