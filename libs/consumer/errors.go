package consumer

import "errors"

// permanentError marks a handler error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the runner parks the message on the dead-letter topic at once
// instead of retrying: use it for events the handler can never apply (unknown type, a
// payload that fails validation), so they do not hold up their partition.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
