// Package testkit holds what a Kit built in a test binary that imports
// package prefinerytest uses when neither its Config nor the environment
// names a secret or a loader: the public test secret of package
// prefinerytest and the stand-in's loader, shared here so the root package
// needs neither of them (both import it). Their own exported constants hold
// the same values; a test there pins them.
package testkit

import "sync/atomic"

// SecretText is prefinerytest.SecretText: public, never a project's.
const SecretText = "prefinerytest-secret-never-a-real-one"

// WidgetURL is standin.WidgetURL, the stand-in's loader.
const WidgetURL = "/prefinery-standin/widget.js"

var active atomic.Bool

// Activate makes prefinery.New take the test defaults from now on in this
// process. Package prefinerytest calls it when it is part of a test binary;
// nothing else does, so the root package never imports testing and no
// other binary can reach the defaults.
func Activate() { active.Store(true) }

// Active reports whether Activate has run.
func Active() bool { return active.Load() }
