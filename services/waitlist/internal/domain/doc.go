// Package domain holds the waitlist's entities, validation, seat picking and sentinel
// errors. It imports no adapter: no bun, no Echo, no HTTP client.
package domain
