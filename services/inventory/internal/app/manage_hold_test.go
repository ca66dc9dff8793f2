package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"

	"evently.dev/services/inventory/internal/domain"
)

// errInvalid matches any 422 validation_failed.
var errInvalid = apperr.Validation(apperr.KindUnprocessable)

func TestExtendHold(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ev := uuid.Must(uuid.NewV7())
	capped := now.Add(30 * time.Minute)
	cases := []struct {
		name     string
		user     string
		by       time.Duration
		storeErr error
		err      error
		detail   string
	}{
		{name: "extended", user: "u1", by: time.Minute},
		{name: "default is the hold ttl", user: "u1"},
		{name: "too short", user: "u1", by: time.Millisecond, err: errInvalid},
		{name: "beyond the maximum lifetime", user: "u1", by: time.Hour, err: errInvalid},
		{name: "another user's hold", user: "u2", by: time.Minute, err: domain.ErrHoldNotFound},
		{name: "lapsed between find and extend", user: "u1", by: time.Minute, storeErr: domain.ErrHoldNotFound,
			err: domain.ErrHoldNotFound},
		{name: "at its cap", user: "u1", by: time.Minute, storeErr: domain.ErrHoldMaxLifetime,
			err: domain.ErrHoldMaxLifetime, detail: capped.Format(time.RFC3339)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hold("u1", ev, now, "A-1-1")
			holds := newFakeHolds(h)
			holds.extendTo, holds.extendErr = now.Add(12*time.Minute), tc.storeErr
			if tc.storeErr != nil {
				holds.extendTo = capped
			}
			s := newService(t, newFakeLedger(), holds, now)
			got, err := s.ExtendHold(context.Background(), tc.user, h.ID, tc.by)
			if tc.err == nil {
				if err != nil || !got.ExpiresAt.Equal(holds.extendTo) {
					t.Fatalf("extend: %v, expires %v", err, got.ExpiresAt)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if ae, ok := apperr.As(err); tc.detail != "" && (!ok || ae.Extra["expires_at"] != capped || !strings.Contains(ae.Detail, tc.detail)) {
				t.Fatalf("problem %+v does not carry the capped expiry", ae)
			}
		})
	}
}
