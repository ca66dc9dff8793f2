package domain

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/booking/internal/domain/refund"
)

// Store errors the use cases react to.
var (
	// ErrRefTaken: the generated booking reference exists already; draw another.
	ErrRefTaken = errors.New("booking reference taken")
	// ErrDuplicateHold: a booking for this user and hold exists already.
	ErrDuplicateHold = errors.New("booking for this hold exists")
	// ErrDuplicateKey: a booking with this user's Idempotency-Key exists already.
	ErrDuplicateKey = errors.New("idempotency key used")
	// ErrDuplicateOpenCancellation: the booking has a PENDING or PROCESSED cancellation.
	ErrDuplicateOpenCancellation = errors.New("open cancellation exists")
)

// Repository is the booking service's persistence. Methods run in the transaction InTx
// started, or alone when called outside one.
type Repository interface {
	// InTx runs fn in one transaction (joining the current one if any).
	InTx(ctx context.Context, fn func(ctx context.Context, r Repository) error) error

	// InsertBooking stores a new PENDING booking; ErrRefTaken, ErrDuplicateHold or
	// ErrDuplicateKey when a unique key clashes.
	InsertBooking(ctx context.Context, b Booking) error
	// Booking reads one booking, locking it FOR UPDATE when lock is set.
	Booking(ctx context.Context, id uuid.UUID, lock bool) (Booking, bool, error)
	// BookingByHold finds a user's booking of a hold.
	BookingByHold(ctx context.Context, userID string, holdID uuid.UUID) (Booking, bool, error)
	// BookingByKey finds a user's booking made with an Idempotency-Key.
	BookingByKey(ctx context.Context, userID, key string) (Booking, bool, error)
	// BookingByKeyOrHold finds a user's booking made with key (when key is set), else the
	// user's booking of the hold: the repeat check of a confirm, in one read.
	BookingByKeyOrHold(ctx context.Context, userID, key string, holdID uuid.UUID) (Booking, bool, error)
	// InsertConfirmed stores a booking whose seats inventory has sold, unless the user's
	// booking of that hold exists: inserted false then. ErrRefTaken or ErrDuplicateKey
	// when another unique key clashes.
	InsertConfirmed(ctx context.Context, b Booking) (inserted bool, err error)
	// InsertConfirmedBatch is InsertConfirmed for many bookings in one statement; any
	// clash other than an existing booking of the hold fails the whole batch.
	InsertConfirmedBatch(ctx context.Context, bs []Booking) (inserted []bool, err error)
	// ClaimReconciled hands a booking the seats.sold reconciler wrote to the request that
	// made its sale, with the request's Idempotency-Key (when it has none) and payment
	// method; claimed is true for one caller only. ErrDuplicateKey when another booking of
	// the user has the key.
	ClaimReconciled(ctx context.Context, id uuid.UUID, key, method string) (b Booking, claimed bool, err error)
	// MarkConfirmed moves a PENDING booking to CONFIRMED with b's amounts and payment;
	// false when it was no longer PENDING.
	MarkConfirmed(ctx context.Context, b Booking) (bool, error)
	// MarkFailed moves a PENDING booking to FAILED; false when it was no longer PENDING.
	MarkFailed(ctx context.Context, id uuid.UUID, f Failure, now time.Time) (bool, error)
	// MarkCancelled moves a CONFIRMED booking to CANCELLED (version + 1) with b's refund.
	MarkCancelled(ctx context.Context, b Booking) (bool, error)
	// ClaimPending leases up to limit PENDING bookings created before olderThan whose
	// previous lease ran out, skipping rows other replicas hold.
	ClaimPending(ctx context.Context, olderThan, now time.Time, lease time.Duration, limit int) ([]Booking, error)
	// ConfirmedOfEvent locks up to limit CONFIRMED bookings of an event.
	ConfirmedOfEvent(ctx context.Context, eventID uuid.UUID, limit int) ([]Booking, error)
	// Bookings lists bookings newest first with the total count.
	Bookings(ctx context.Context, f BookingFilter) ([]Booking, int, error)

	// InsertCancellation stores a cancellation; ErrDuplicateOpenCancellation on a clash.
	InsertCancellation(ctx context.Context, c Cancellation) error
	// UpdateCancellation saves a decided cancellation (status, processed_at, decider).
	UpdateCancellation(ctx context.Context, c Cancellation) error
	// Cancellation reads one cancellation, locking it FOR UPDATE when lock is set.
	Cancellation(ctx context.Context, id uuid.UUID, lock bool) (Cancellation, bool, error)
	// PendingCancellation finds the booking's PENDING request, locked.
	PendingCancellation(ctx context.Context, bookingID uuid.UUID) (Cancellation, bool, error)
	// Cancellations lists cancellations newest first with the total count.
	Cancellations(ctx context.Context, f CancellationFilter) ([]Cancellation, int, error)

	// Event reads the read model of one event.
	Event(ctx context.Context, id uuid.UUID) (Event, bool, error)
	// LockEventShared creates a stub row if needed and takes a share lock on it, so a
	// concurrent event cancellation waits for (and then sees) this transaction.
	LockEventShared(ctx context.Context, id uuid.UUID) (Event, error)
	// LockEventsShared is LockEventShared for several events at once.
	LockEventsShared(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Event, error)
	// SaveEventFacts upserts what catalog said about an event unless a newer version is
	// stored; a CANCELLED status is never undone.
	SaveEventFacts(ctx context.Context, e Event) error
	// SavePolicy stores a policy version unless a newer one is stored, and keeps every
	// version for the bookings confirmed under it.
	SavePolicy(ctx context.Context, e Event) error
	// PolicyVersion returns one stored version of the event's policy (nil policy: the
	// event had none); ok is false when that version was never received.
	PolicyVersion(ctx context.Context, eventID uuid.UUID, version int) (p *refund.Policy, ok bool, err error)
	// MarkEventCancelled sets CANCELLED, holding the row lock to the end of the transaction.
	MarkEventCancelled(ctx context.Context, id uuid.UUID) error
	// NoteSales records sales inventory announced, in one statement, to be checked against
	// the bookings once older than a grace period (see app.ReconcileSales).
	NoteSales(ctx context.Context, cs []Commit) error
	// SettleSales forgets the noted sales sold at or before olderThan that have their booking.
	SettleSales(ctx context.Context, olderThan time.Time) (int, error)
	// UnbookedSales reads up to limit noted sales sold at or before olderThan, oldest first.
	UnbookedSales(ctx context.Context, olderThan time.Time, limit int) ([]Commit, error)
	// ForgetSale drops a noted sale.
	ForgetSale(ctx context.Context, c Commit) error

	// Publish writes an event to the outbox in the current transaction.
	Publish(ctx context.Context, key, typ string, payload any) error
	// PublishMany writes several events to the outbox in the current transaction.
	PublishMany(ctx context.Context, msgs []Message) error
}

// Message is one event for the outbox, with the trace of the request that caused it.
type Message struct {
	Key     string
	Type    string
	Payload any
	Trace   map[string]string
}
