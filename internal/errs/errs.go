// Package errs builds the kit's error chains so that each reads with one
// "prefinery: " prefix however deep it goes, while errors.Is still finds
// every sentinel and cause in it.
package errs

import "strings"

// Prefix starts every error message of the kit.
const Prefix = "prefinery: "

// chain is an error with its own message that unwraps to several errors.
type chain struct {
	msg     string
	wrapped []error
}

func (e *chain) Error() string   { return e.msg }
func (e *chain) Unwrap() []error { return e.wrapped }

// Wrap returns an error reading msg that matches each of wrapped.
func Wrap(msg string, wrapped ...error) error { return &chain{msg: msg, wrapped: wrapped} }

// Reason is err's message without the kit's prefix, to be quoted inside
// another of the kit's messages.
func Reason(err error) string { return strings.TrimPrefix(err.Error(), Prefix) }
