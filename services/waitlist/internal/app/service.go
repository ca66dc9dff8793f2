// Package app holds the waitlist's use cases: joining and leaving the queue, offer rounds
// that reserve seats for the next in line, and the reactions to other services' facts.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/waitlist/internal/domain"
)

// Store is the persistence the use cases need beyond one repository.
type Store interface {
	// InTx runs fn with a repository bound to one transaction.
	InTx(ctx context.Context, fn func(ctx context.Context, r domain.Repository) error) error
	// Repo is a repository outside any transaction, for reads.
	Repo() domain.Repository
	// WithEventLock runs fn holding the event's round lock (shared by every replica).
	WithEventLock(ctx context.Context, eventID uuid.UUID, fn func(ctx context.Context) error) error
	DueRounds(ctx context.Context, limit int) ([]domain.RoundRequest, error)
	FinishRound(ctx context.Context, eventID uuid.UUID, version int64) error
	RetryRound(ctx context.Context, eventID uuid.UUID, version int64, next time.Time, cause string) error
}

// Inventory is what the waitlist asks of the inventory service.
type Inventory interface {
	Availability(ctx context.Context, eventID uuid.UUID) (domain.Availability, error)
	AvailableSeats(ctx context.Context, eventID uuid.UUID) ([]domain.Seat, error)
	HoldForUser(ctx context.Context, eventID uuid.UUID, userID string, seatIDs []string, ttl time.Duration) (domain.PlacedHold, error)
	ReleaseHold(ctx context.Context, userID string, holdID uuid.UUID) error
}

// Options tunes the use cases.
type Options struct {
	// OfferWindow is how long an offer's seats stay reserved.
	OfferWindow time.Duration
	// RoundPollInterval is how often the round worker looks for requested rounds.
	RoundPollInterval time.Duration
	// RoundMaxBackoff caps the wait before a failed round is retried.
	RoundMaxBackoff time.Duration
}

// Service carries the use cases' dependencies.
type Service struct {
	Store     Store
	Inventory Inventory
	Opts      Options
	Log       *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// New returns a service with defaults filled in.
func New(store Store, inv Inventory, opts Options, log *slog.Logger) *Service {
	if opts.OfferWindow <= 0 {
		opts.OfferWindow = 15 * time.Minute
	}
	if opts.RoundPollInterval <= 0 {
		opts.RoundPollInterval = 250 * time.Millisecond
	}
	if opts.RoundMaxBackoff <= 0 {
		opts.RoundMaxBackoff = 30 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{Store: store, Inventory: inv, Opts: opts, Log: log, Now: func() time.Time { return time.Now().UTC() }}
}
