// Package domain holds the inventory's entities (events, seats, holds), their validation,
// the best-available seat picker, the sentinel errors, and the ports (Ledger, Holds) the
// use cases reach PostgreSQL and Redis through; it imports no adapter.
package domain
