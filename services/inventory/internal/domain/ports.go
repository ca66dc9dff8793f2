package domain

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrCommitClash is the ledger's refusal of a commit record whose hold or booking is
// recorded already: a concurrent twin of the same commit got there first.
var ErrCommitClash = errors.New("commit of this hold or booking recorded already")

// Ledger is the inventory's durable state (PostgreSQL): published events, the seat ledger,
// commit records and the outbox. Methods run in the transaction InTx started, or alone
// when called outside one.
type Ledger interface {
	// InTx runs fn in one transaction, joining the current one when there is one.
	InTx(ctx context.Context, fn func(ctx context.Context, l Ledger) error) error

	Events
	Sales
	Returns
	Publisher
}

// Events keeps what catalog published: the events, their sections and seat rows.
type Events interface {
	// Event loads an event with its sections (in layout order) and, when withLayout is
	// set, its compact layout; ErrEventNotFound when unknown.
	Event(ctx context.Context, id uuid.UUID, withLayout bool) (EventRecord, error)
	// InsertEvent records a newly published event; false, changing nothing, when it is
	// known already (a redelivered event.published).
	InsertEvent(ctx context.Context, p PublishedEvent) (bool, error)
	// InsertSeats writes one AVAILABLE ledger row per seat at its section's price.
	InsertSeats(ctx context.Context, eventID uuid.UUID, seats []Seat, price map[string]int64) error
	// UpdateEvent applies an update unless a newer version was applied; false then.
	UpdateEvent(ctx context.Context, u EventUpdate) (bool, error)
	// CancelEvent marks the event cancelled and closes its unsold seats, reporting how many.
	CancelEvent(ctx context.Context, id uuid.UUID) (int, error)
	// UnavailableSeatIDs lists the event's SOLD and CLOSED seats.
	UnavailableSeatIDs(ctx context.Context, eventID uuid.UUID) ([]string, error)
	// BoughtSeats maps each buyer of the event to the seats they hold bought.
	BoughtSeats(ctx context.Context, eventID uuid.UUID) (map[string][]string, error)
}

// Sales turns holds into sold seats and records each commit, one at a time or a batch of
// them in a fixed number of statements.
type Sales interface {
	// SellSeats flips exactly seatIDs AVAILABLE → SOLD for a booking and returns how many
	// rows changed.
	SellSeats(ctx context.Context, eventID, bookingID uuid.UUID, seatIDs []string) (int, error)
	// UnsellableSeats returns which of seatIDs are not AVAILABLE, apart from those the
	// booking itself took in this transaction.
	UnsellableSeats(ctx context.Context, eventID, bookingID uuid.UUID, seatIDs []string) ([]string, error)
	// AdjustSold adds delta[section] to the booking's sold counters and returns every
	// section's counts as this transaction sees them.
	AdjustSold(ctx context.Context, eventID, bookingID uuid.UUID, delta map[string]int) ([]SectionCount, error)
	// FindCommit returns the commit of a hold or of a booking, whichever exists.
	FindCommit(ctx context.Context, holdID, bookingID uuid.UUID) (Commit, bool, error)
	// InsertCommit records a commit; ErrCommitClash when its hold or booking is recorded.
	InsertCommit(ctx context.Context, c Commit) error

	// SellBatch sells many commits in one statement: it flips their seats, records the
	// commits (ErrCommitClash on any clash), counts the seats into the sold counters and
	// returns how many seats changed in all with each event's section counts, in layout
	// order.
	SellBatch(ctx context.Context, cs []Commit) (int, map[uuid.UUID][]SectionCount, error)
}

// Returns gives a cancelled booking's seats back to sale.
type Returns interface {
	// ReturnBookingSeats flips a booking's SOLD seats back (CLOSED when the event is
	// cancelled) and returns them; a second call returns nothing.
	ReturnBookingSeats(ctx context.Context, bookingID uuid.UUID) ([]ReturnedSeat, error)
	// BookingBuyer is the user of a committed booking ("" when unknown).
	BookingBuyer(ctx context.Context, bookingID uuid.UUID) (string, error)
}

// Publisher writes the inventory's events to the outbox, in the ledger's transaction.
type Publisher interface {
	// Publish writes msgs to the outbox in one statement.
	Publish(ctx context.Context, msgs ...Message) error
	// Published reports whether the event with this id is in the outbox already.
	Published(ctx context.Context, id string) (bool, error)
}

// Message is one event for the inventory's topic, keyed by the show.
type Message struct {
	// ID is the event's id; empty gets a fresh one.
	ID      string
	Key     string
	Type    string
	Payload any
	// Trace is the context of the request that caused the event.
	Trace map[string]string
}

// Holds is the fast, temporary side of the inventory (Redis): seat holds, the sold set
// that refuses holds on sold seats, and the queue of lapsed holds to announce.
type Holds interface {
	HoldStore
	SoldSet
	ExpiryQueue
}

// HoldStore places, reads and ends holds.
type HoldStore interface {
	// Hold places h for ttl unless a seat is taken or the user would exceed limit seats.
	Hold(ctx context.Context, h Hold, ttl time.Duration, limit int) (HoldResult, error)
	// Find returns a hold of userID (found false for none or another user's).
	Find(ctx context.Context, userID string, holdID uuid.UUID) (Hold, bool, error)
	// ListUser returns the user's live holds across events.
	ListUser(ctx context.Context, userID string) ([]Hold, error)
	// Release drops a live hold of userID and returns it; ErrHoldNotFound when there is
	// none of theirs.
	Release(ctx context.Context, userID string, eventID, holdID uuid.UUID) (Hold, error)
	// Extend pushes a hold's expiry by, capped at maxLifetime after it was placed, and
	// returns the new expiry; ErrHoldNotFound, or ErrHoldMaxLifetime with the expiry at
	// the cap.
	Extend(ctx context.Context, userID string, eventID, holdID uuid.UUID, by, maxLifetime time.Duration) (time.Time, error)
	// CommitCleanup drops a committed hold and adds its seats to the sold set.
	CommitCleanup(ctx context.Context, eventID, holdID uuid.UUID, userID string, seatIDs []string) error
}

// SoldSet is the cache of the ledger's unavailable seats and buyers that holds check.
type SoldSet interface {
	// Snapshot reads the sold and live held seats; loaded is false when the sold set is
	// missing and must be rebuilt from the ledger.
	Snapshot(ctx context.Context, eventID uuid.UUID) (snap SeatSnapshot, loaded bool, err error)
	// LoadSold rebuilds the sold set.
	LoadSold(ctx context.Context, eventID uuid.UUID, seatIDs []string) error
	// LoadBuyers rebuilds what each buyer bought, for the per-user limit.
	LoadBuyers(ctx context.Context, eventID uuid.UUID, bought map[string][]string) error
	// ForgetBought stops counting returned seats against the user's limit.
	ForgetBought(ctx context.Context, eventID uuid.UUID, userID string, seatIDs []string) error
	// Unsold returns seats to sale and tells live subscribers.
	Unsold(ctx context.Context, eventID uuid.UUID, change Change) error
	// Close refuses every further hold of a cancelled event.
	Close(ctx context.Context, eventID uuid.UUID) error
}

// ExpiryQueue hands lapsed holds to sweepers, each to one.
type ExpiryQueue interface {
	// LiveEvents lists up to limit events that may have holds to sweep.
	LiveEvents(ctx context.Context, limit int64) ([]LiveEvent, error)
	// ClaimExpired leases up to batch lapsed holds of the event to this sweeper.
	ClaimExpired(ctx context.Context, eventID uuid.UUID, batch int, lease time.Duration) ([]ExpiredHold, error)
	// AckExpired forgets announced holds.
	AckExpired(ctx context.Context, eventID uuid.UUID, done []ExpiredHold) error
	// DropIfIdle removes an event without holds from the live index.
	DropIfIdle(ctx context.Context, ev LiveEvent) error
}

// HoldOutcome is how a hold attempt ended.
type HoldOutcome int

// Hold outcomes.
const (
	Held HoldOutcome = iota
	Taken
	OverLimit
	SoldUnknown
	Closed
)

// HoldResult is the answer to a hold attempt.
type HoldResult struct {
	Outcome HoldOutcome
	// Taken lists the conflicting seats; AlreadyHeld is the user's seat count at OverLimit.
	Taken       []string
	AlreadyHeld int
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// SeatSnapshot is an event's unavailable seats at one moment.
type SeatSnapshot struct {
	Sold map[string]struct{}
	Held map[string]struct{}
}

// ExpiredHold is a lapsed hold a sweeper must announce.
type ExpiredHold struct {
	EventID   uuid.UUID
	HoldID    string
	ExpiredAt time.Time
	// Hold is nil when its record was lost (e.g. Redis was flushed meanwhile).
	Hold *Hold
}

// LiveEvent is an event that may have holds to sweep, with its index score.
type LiveEvent struct {
	EventID uuid.UUID
	Score   float64
}

// PublishedEvent is everything event.published brings, in the inventory's terms.
type PublishedEvent struct {
	Event       Event
	Layout      []SectionLayout
	PublishedAt time.Time
}

// EventRecord is a stored event with its compact layout.
type EventRecord struct {
	Event  Event
	Layout []SectionLayout
}

// EventUpdate is what event.updated may change after publishing.
type EventUpdate struct {
	EventID          uuid.UUID
	Name             string
	Status           string
	StartsAt         time.Time
	EndsAt           time.Time
	HoldLimitPerUser int
	Prices           map[string]int64
	Version          int
}

// ReturnedSeat is a seat a cancelled booking gave back.
type ReturnedSeat struct {
	EventID   uuid.UUID
	SeatID    string
	SectionID string
	Status    string
	Price     int64
}
