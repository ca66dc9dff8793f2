package consumer

import "embed"

// Migrations creates the inbox table in a service's schema. Services pass it to
// migrate.Up beside their own migrations; its version (00000000000101) sorts before any
// timestamped service migration and after the outbox's.
//
//go:embed *.sql
var Migrations embed.FS
