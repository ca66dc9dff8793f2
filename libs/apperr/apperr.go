// Package apperr defines the small, adapter-free error vocabulary that domain code uses,
// so that one HTTP error handler can map every service's errors to problem+json.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// Kinds map one-to-one to HTTP status families in the error handler.
const (
	// KindInternal is anything unexpected; details are never shown to clients.
	KindInternal Kind = iota
	// KindInvalid is malformed input: bad JSON, wrong types, bad ids (400).
	KindInvalid
	// KindUnprocessable is well-formed input that breaks a rule (422).
	KindUnprocessable
	// KindNotFound is an unknown resource, or one the caller may not see (404).
	KindNotFound
	// KindConflict is a state clash: taken seats, duplicates, wrong status (409).
	KindConflict
	// KindUnauthenticated is a missing or bad credential (401).
	KindUnauthenticated
	// KindForbidden is a known caller without the right (403).
	KindForbidden
	// KindTooLarge is an oversize request body (413).
	KindTooLarge
	// KindRateLimited is a caller over its limit (429).
	KindRateLimited
	// KindUnavailable is a dependency that cannot answer right now (503).
	KindUnavailable
	// KindPaymentRequired is a payment the provider declined for good (402).
	KindPaymentRequired
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a classified error with a stable machine-readable code.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields []FieldError
	// Extra carries additional members for the problem body (e.g. conflicting_seat_ids).
	Extra map[string]any
	cause error
}

// New returns an error of the given kind with a stable code and a human detail.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Error implements error.
func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.cause)
	}
	return e.Code + ": " + e.Detail
}

// Unwrap exposes the cause so errors.Is still reaches sentinels below.
func (e *Error) Unwrap() error { return e.cause }

// Is lets a copy made by With* match the sentinel it came from.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// WithDetail returns a copy with another detail; it still matches the original sentinel.
func (e *Error) WithDetail(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

// WithExtra returns a copy with one more problem member.
func (e *Error) WithExtra(key string, value any) *Error {
	c := *e
	c.Extra = make(map[string]any, len(e.Extra)+1)
	for k, v := range e.Extra {
		c.Extra[k] = v
	}
	c.Extra[key] = value
	return &c
}

// Wrap returns a copy that records cause for logging while keeping the public detail.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Validation builds a 422 (or 400 when kind says so) error listing field problems.
func Validation(kind Kind, fields ...FieldError) *Error {
	detail := "the request has invalid fields"
	if len(fields) == 1 {
		detail = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Kind: kind, Code: "validation_failed", Detail: detail, Fields: fields}
}

// Fields accumulates field errors during validation so all are reported at once.
type Fields []FieldError

// Add records a problem with one field.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns a 422 validation error, or nil when nothing was added.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Validation(KindUnprocessable, f...)
}

// BadRequest returns a 400 validation error, or nil when nothing was added.
func (f Fields) BadRequest() error {
	if len(f) == 0 {
		return nil
	}
	return Validation(KindInvalid, f...)
}

// As extracts the classified error from err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Common sentinels every service uses.
var (
	ErrNotFound        = New(KindNotFound, "not_found", "the resource does not exist")
	ErrUnauthenticated = New(KindUnauthenticated, "unauthenticated", "a valid access token is required")
	ErrForbidden       = New(KindForbidden, "forbidden", "you may not do this")
	ErrInvalidJSON     = New(KindInvalid, "invalid_json", "the request body is not valid JSON")
	ErrTooLarge        = New(KindTooLarge, "body_too_large", "the request body is too large")
)
