// Package migrations embeds the analytics schema's SQL migrations.
package migrations

import "embed"

// FS holds the migration files, applied by the platform under an advisory lock.
//
//go:embed *.sql
var FS embed.FS
