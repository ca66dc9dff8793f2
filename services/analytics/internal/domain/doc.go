// Package domain holds analytics' pure rules: how facts are bucketed in time, how report
// queries are validated, and the rate maths that must never yield NaN. It imports no
// adapter.
package domain
