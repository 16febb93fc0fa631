// Package errs builds the kit's error chains so that each reads with one
// "prefinery: " prefix however deep it goes, while errors.Is still finds
// every sentinel and cause in it, and a message quoting another of the
// kit's errors takes its reason, not its text.
package errs

// Prefix starts every error message of the kit.
const Prefix = "prefinery: "

// chain is one of the kit's errors: a reason, read after the prefix, that
// unwraps to several errors.
type chain struct {
	reason  string
	wrapped []error
}

func (e *chain) Error() string   { return Prefix + e.reason }
func (e *chain) Unwrap() []error { return e.wrapped }

// New returns an error reading Prefix+reason that matches each of wrapped.
func New(reason string, wrapped ...error) error { return &chain{reason: reason, wrapped: wrapped} }

// Reason is what err says after the kit's prefix when err is one of the
// kit's errors (made by New), and err's whole message otherwise: to be
// quoted inside another of the kit's messages.
func Reason(err error) string {
	if e, ok := err.(*chain); ok {
		return e.reason
	}
	return err.Error()
}
