// Package domain is the catalog's business core: venue templates and their derived seats,
// events and their prices, cancellation policies, tags and browse filters, with the
// validation rules and the errors they raise. It imports no adapter (no bun, no Echo).
package domain
