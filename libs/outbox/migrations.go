package outbox

import "embed"

// Migrations creates the outbox table in a service's schema. Services pass it to
// migrate.Up beside their own migrations; its version (00000000000100) sorts before any
// timestamped service migration, so the table exists before a service's first write.
//
//go:embed *.sql
var Migrations embed.FS
