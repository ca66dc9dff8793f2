// Package domain holds the booking service's entities, value types with their validation,
// sentinel errors and the repository interface the use cases need. It imports no adapter:
// no bun, no Echo, no HTTP client.
package domain
