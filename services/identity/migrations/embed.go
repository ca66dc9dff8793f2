// Package migrations holds the identity schema's SQL migrations.
package migrations

import "embed"

// FS holds the migration files, applied in version order by libs/migrate.
//
//go:embed *.sql
var FS embed.FS
