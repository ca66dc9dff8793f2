package domain

import (
	"crypto/rand"
	"fmt"
	"time"
)

// refAlphabet leaves out 0/O, 1/I/L so a reference read over the phone is unambiguous.
const refAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewBookingRef returns "EVT-YYYYMMDD-XXXXXX": the booking's UTC date and six random
// characters from crypto/rand (31^6 ≈ 887 million per day; the store retries collisions).
func NewBookingRef(now time.Time) (string, error) {
	var out [6]byte
	var buf [16]byte
	n := 0
	for n < len(out) {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("booking ref: %w", err)
		}
		for _, b := range buf {
			// Rejection sampling keeps every character equally likely: 248 = 8 × 31.
			if b >= 248 || n == len(out) {
				continue
			}
			out[n] = refAlphabet[int(b)%len(refAlphabet)]
			n++
		}
	}
	return "EVT-" + now.UTC().Format("20060102") + "-" + string(out[:]), nil
}
