// Package bench compares the prefinery kit with its peers and measures the
// example app over loopback. It is a module of its own so that the library's
// go.mod does not carry gorilla/csrf and nosurf. See ../BENCHMARKS.md.
package bench
