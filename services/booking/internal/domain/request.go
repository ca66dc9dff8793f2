package domain

import (
	"strings"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

// Confirm limits.
const (
	MaxPaymentMethodLen  = 32
	MaxIdempotencyKeyLen = 200
	DefaultPaymentMethod = "simulated"
)

// ConfirmInput is a confirm request as decoded from the client, before validation.
type ConfirmInput struct {
	HoldID         string
	EventID        *string
	PaymentMethod  *string
	IdempotencyKey string
}

// ConfirmRequest is a validated confirm request.
type ConfirmRequest struct {
	HoldID         uuid.UUID
	EventID        uuid.UUID // uuid.Nil when not given
	PaymentMethod  string
	IdempotencyKey string
}

// ParseConfirm validates a confirm request, reporting every bad field at once.
func ParseConfirm(in ConfirmInput) (ConfirmRequest, error) {
	var f apperr.Fields
	var out ConfirmRequest
	if strings.TrimSpace(in.HoldID) == "" {
		f.Add("hold_id", "is required")
	} else if id, err := uuid.Parse(in.HoldID); err != nil || id == uuid.Nil {
		f.Add("hold_id", "must be a UUID")
	} else {
		out.HoldID = id
	}
	if in.EventID != nil {
		if id, err := uuid.Parse(*in.EventID); err != nil {
			f.Add("event_id", "must be a UUID")
		} else {
			out.EventID = id
		}
	}
	out.PaymentMethod = DefaultPaymentMethod
	if in.PaymentMethod != nil {
		m := strings.TrimSpace(*in.PaymentMethod)
		switch {
		case m == "":
			f.Add("payment_method", "must not be empty when given")
		case len(m) > MaxPaymentMethodLen:
			f.Add("payment_method", "must be at most %d characters", MaxPaymentMethodLen)
		default:
			out.PaymentMethod = m
		}
	}
	k := strings.TrimSpace(in.IdempotencyKey)
	if len(k) > MaxIdempotencyKeyLen {
		f.Add("Idempotency-Key", "must be at most %d characters", MaxIdempotencyKeyLen)
	}
	out.IdempotencyKey = k
	if err := f.Err(); err != nil {
		return ConfirmRequest{}, err
	}
	return out, nil
}

// ParseReason validates a cancellation reason.
func ParseReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxReasonLen {
		return "", apperr.Validation(apperr.KindUnprocessable,
			apperr.FieldError{Field: "reason", Message: "must be at most 500 characters"})
	}
	return s, nil
}
