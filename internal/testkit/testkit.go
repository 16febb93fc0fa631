// Package testkit holds what a Kit built in a test binary uses when neither
// its Config nor the environment names a secret or a loader: the public test
// secret of package prefinerytest and the stand-in's loader, shared here so
// the root package needs neither of them (both import it). Their own
// exported constants hold the same values; a test there pins them.
package testkit

// SecretText is prefinerytest.SecretText: public, never a project's.
const SecretText = "prefinerytest-secret-never-a-real-one"

// WidgetURL is standin.WidgetURL, the stand-in's loader.
const WidgetURL = "/prefinery-standin/widget.js"
