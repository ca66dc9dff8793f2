package domain

import (
	"regexp"
	"testing"
	"time"
)

func TestNewBookingRef(t *testing.T) {
	day := time.Date(2026, 11, 25, 23, 59, 59, 0, time.FixedZone("X", -5*3600)) // already the 26th in UTC
	format := regexp.MustCompile(`^EVT-20261126-[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{6}$`)
	seen := map[string]bool{}
	for range 2000 {
		ref, err := NewBookingRef(day)
		if err != nil {
			t.Fatal(err)
		}
		if !format.MatchString(ref) {
			t.Fatalf("bad ref %q", ref)
		}
		seen[ref] = true
	}
	if len(seen) < 1990 { // 2000 draws from 887M: a handful of repeats would be astonishing
		t.Fatalf("only %d distinct refs in 2000", len(seen))
	}
}

func TestParseConfirmDefaults(t *testing.T) {
	r, err := ParseConfirm(ConfirmInput{HoldID: "0192a5d2-0000-7000-8000-000000000001"})
	if err != nil || r.PaymentMethod != DefaultPaymentMethod || r.IdempotencyKey != "" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ParseConfirm(ConfirmInput{HoldID: "00000000-0000-0000-0000-000000000000"}); err == nil {
		t.Fatal("nil hold id accepted")
	}
}
