// Package payment is how bookings are paid and refunded: a Provider interface and the only
// provider so far, "simulated", which records payments without moving money.
package payment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Charge asks for a booking's total to be taken.
type Charge struct {
	BookingID uuid.UUID
	Amount    int64
	Currency  string
	Method    string
}

// Receipt is a completed payment.
type Receipt struct {
	TransactionID string
	PaidAt        time.Time
}

// Refund asks for part or all of a payment back.
type Refund struct {
	BookingID      uuid.UUID
	CancellationID uuid.UUID
	TransactionID  string
	Amount         int64
	Currency       string
}

// RefundReceipt is a completed refund.
type RefundReceipt struct {
	TransactionID string
	RefundedAt    time.Time
}

// Provider takes and returns money. Both calls must be idempotent by booking id and
// cancellation id: the saga and the reconciler may repeat them after a crash.
type Provider interface {
	// Name is the provider's name as the API and README show it.
	Name() string
	// Charge takes the booking's total.
	Charge(ctx context.Context, c Charge) (Receipt, error)
	// Refund gives back an amount of an earlier charge; a zero amount records nothing.
	Refund(ctx context.Context, r Refund) (RefundReceipt, error)
}

// New returns the provider named name.
func New(name string) (Provider, error) {
	switch strings.ToLower(name) {
	case "", Simulated{}.Name():
		return Simulated{Now: time.Now}, nil
	default:
		return nil, fmt.Errorf("unknown payment provider %q (available: simulated)", name)
	}
}

// Simulated always succeeds. Transaction ids derive from the booking and cancellation
// ids, so repeating a call yields the same record, like a real provider's idempotency key.
type Simulated struct {
	Now func() time.Time
}

// Name implements Provider.
func (Simulated) Name() string { return "simulated" }

// Charge implements Provider.
func (s Simulated) Charge(_ context.Context, c Charge) (Receipt, error) {
	if c.Amount < 0 {
		return Receipt{}, fmt.Errorf("simulated charge: negative amount %d", c.Amount)
	}
	return Receipt{TransactionID: "sim_pay_" + strings.ReplaceAll(c.BookingID.String(), "-", ""), PaidAt: s.now()}, nil
}

// Refund implements Provider.
func (s Simulated) Refund(_ context.Context, r Refund) (RefundReceipt, error) {
	if r.Amount < 0 {
		return RefundReceipt{}, fmt.Errorf("simulated refund: negative amount %d", r.Amount)
	}
	if r.Amount == 0 {
		return RefundReceipt{RefundedAt: s.now()}, nil
	}
	return RefundReceipt{TransactionID: "sim_ref_" + strings.ReplaceAll(r.CancellationID.String(), "-", ""),
		RefundedAt: s.now()}, nil
}

func (s Simulated) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}
