// Package retry holds the two small pieces every retry loop here needs: a capped doubling
// backoff and a sleep that gives up when its context ends, so workers stop promptly.
package retry

import (
	"context"
	"time"
)

// Backoff doubles from lo with each failure (1 → lo), capped at hi.
func Backoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Sleep waits d and reports false if ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
