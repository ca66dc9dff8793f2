// Package domain holds the inventory's entities (events, seats, holds), their validation,
// the best-available seat picker and the sentinel errors; it imports no adapter.
package domain
