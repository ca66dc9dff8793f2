// Package app holds the booking service's use cases, one file each: confirm a booking
// (the saga with inventory), reconcile stuck ones, read bookings, cancel and refund,
// decide cancellation requests, and apply catalog's facts.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/groupcommit"

	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/payment"
)

// Inventory is the part of inventory's internal API the saga needs.
type Inventory interface {
	// Commit sells a hold's seats for a booking; idempotent by hold for the same user,
	// answering the booking id that owns the sale. eventID, when not nil, must be the
	// hold's event. Refusals are *domain.InventoryRefusal; other errors are transient.
	Commit(ctx context.Context, holdID, bookingID uuid.UUID, userID string, eventID uuid.UUID) (domain.Commit, error)
}

// Service runs the use cases.
type Service struct {
	Repo      domain.Repository
	Inventory Inventory
	Payments  payment.Provider
	Log       *slog.Logger
	// Now is the clock (tests move it).
	Now func() time.Time

	// OnWriteBatch, when set before the first confirmation, sees each transaction of
	// confirmed bookings: how many it carried and whether it fell back to one per booking.
	OnWriteBatch func(size int, fellBack bool)
	// writer coalesces confirmed bookings into shared transactions (see writeConfirmed).
	writer *groupcommit.Committer[pendingWrite, written]
}

// New builds a Service with the real clock and the default group commit (128 bookings per
// transaction, two transactions in flight); NewWith sets those.
func New(repo domain.Repository, inv Inventory, pay payment.Provider, log *slog.Logger) *Service {
	return NewWith(repo, inv, pay, log, 128, 2)
}

// NewWith is New with the group commit's batch size and number of transactions in flight.
func NewWith(repo domain.Repository, inv Inventory, pay payment.Provider, log *slog.Logger, maxBatch, workers int) *Service {
	s := &Service{Repo: repo, Inventory: inv, Payments: pay, Log: log, Now: func() time.Time { return time.Now().UTC() }}
	s.writer = s.newWriter(maxBatch, workers)
	return s
}

// Close stops the group committer after the writes already queued.
func (s *Service) Close() { s.writer.Close() }

func (s *Service) now() time.Time { return s.Now().UTC() }
