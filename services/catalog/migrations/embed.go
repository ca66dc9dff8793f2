// Package migrations holds the catalog schema's SQL migrations, embedded in the binary.
package migrations

import "embed"

// FS is every migration file; platform applies them in version order.
//
//go:embed *.sql
var FS embed.FS
