// Package payment is how bookings are paid and refunded: a Provider interface and the only
// provider so far, "simulated", which records payments without moving money.
package payment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// ErrDeclined is a definite "no" from the provider (card refused, insufficient funds):
// retrying the same charge cannot succeed, so the booking fails and its seats are
// released. Any other Charge error is transient and the charge is tried again later.
var ErrDeclined = errors.New("payment declined")

// Provider takes and returns money. Both calls must be idempotent by booking id and
// cancellation id: the saga and the reconciler may repeat them after a crash, and a
// repeated confirm charges again before it finds the booking already written (the
// charge happens between inventory's commit and the booking write). A real provider
// must therefore receive the booking id as its idempotency key, so that a repeat returns
// the first charge's receipt instead of taking the money twice.
type Provider interface {
	// Name is the provider's name as the API and README show it.
	Name() string
	// Charge takes the booking's total.
	Charge(ctx context.Context, c Charge) (Receipt, error)
	// Refund gives back an amount of an earlier charge; a zero amount records nothing.
	Refund(ctx context.Context, r Refund) (RefundReceipt, error)
}

// New returns the provider named name. declineMethods configures the simulator: charges
// whose payment method is one of them are declined (see Simulated).
func New(name string, declineMethods []string) (Provider, error) {
	switch strings.ToLower(name) {
	case "", simulatedName:
		return &Simulated{Now: time.Now, DeclineMethods: declineMethods}, nil
	default:
		return nil, fmt.Errorf("unknown payment provider %q (available: simulated)", name)
	}
}

const simulatedName = "simulated"

// Simulated moves no money. Transaction ids derive from the booking and cancellation ids,
// and each booking is charged once: a repeated Charge answers the first receipt, as a
// real provider does with the booking id as idempotency key. Like a provider's test
// cards, it declines (ErrDeclined) every charge whose payment method is listed in
// DeclineMethods (PAYMENT_SIMULATE_DECLINE_METHODS), so the failure path can be driven
// through the public API. Its memory of charges is per process: enough to make repeats
// within one replica free, which is all a simulator needs; it keeps the last
// simulatedMemory charges, so a long-running process does not grow without bound.
type Simulated struct {
	Now            func() time.Time
	DeclineMethods []string

	mu      sync.Mutex
	charged map[uuid.UUID]Receipt
	order   []uuid.UUID // charged's keys, oldest first
	total   int
}

// simulatedMemory is how many charges the simulator remembers: far more than can be
// repeated within the seconds a retry or reconciler takes.
const simulatedMemory = 100_000

// Name implements Provider.
func (*Simulated) Name() string { return simulatedName }

// Charge implements Provider.
func (s *Simulated) Charge(_ context.Context, c Charge) (Receipt, error) {
	if c.Amount < 0 {
		return Receipt{}, fmt.Errorf("simulated charge: negative amount %d", c.Amount)
	}
	if slices.Contains(s.DeclineMethods, c.Method) {
		return Receipt{}, fmt.Errorf("simulated charge of booking %s with %q: %w", c.BookingID, c.Method, ErrDeclined)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.charged[c.BookingID]; ok {
		return r, nil
	}
	if s.charged == nil {
		s.charged = map[uuid.UUID]Receipt{}
	}
	r := Receipt{TransactionID: "sim_pay_" + strings.ReplaceAll(c.BookingID.String(), "-", ""), PaidAt: s.now()}
	s.charged[c.BookingID] = r
	s.order = append(s.order, c.BookingID)
	if len(s.order) > simulatedMemory {
		delete(s.charged, s.order[0])
		s.order = s.order[1:]
	}
	s.total++
	return r, nil
}

// Charges is how many distinct bookings the simulator has charged.
func (s *Simulated) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Refund implements Provider.
func (s *Simulated) Refund(_ context.Context, r Refund) (RefundReceipt, error) {
	if r.Amount < 0 {
		return RefundReceipt{}, fmt.Errorf("simulated refund: negative amount %d", r.Amount)
	}
	if r.Amount == 0 {
		return RefundReceipt{RefundedAt: s.now()}, nil
	}
	return RefundReceipt{TransactionID: "sim_ref_" + strings.ReplaceAll(r.CancellationID.String(), "-", ""),
		RefundedAt: s.now()}, nil
}

func (s *Simulated) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}
