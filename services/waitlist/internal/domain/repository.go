package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// EventInfo is the local read model of a catalog event.
type EventInfo struct {
	ID        uuid.UUID
	Name      string
	Status    string
	VenueName string
	StartsAt  *time.Time
	Currency  string
	Sections  []SectionInfo
	Version   int
}

// SectionInfo is one section's name and current price.
type SectionInfo struct {
	SectionID string `json:"section_id"`
	Name      string `json:"name"`
	Price     int64  `json:"price"`
}

// Section returns the section with id, if the event has it.
func (e EventInfo) Section(id string) (SectionInfo, bool) {
	for _, s := range e.Sections {
		if s.SectionID == id {
			return s, true
		}
	}
	return SectionInfo{}, false
}

// Open reports whether the event can still gather a waitlist.
func (e EventInfo) Open() bool { return e.Status != "CANCELLED" && e.Status != "COMPLETED" }

// UserInfo is the local read model of an identity user.
type UserInfo struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
}

// Addressee is what an email needs from the read models: the user's first name and the
// event's name, venue and start. A user or event not known (yet) leaves its fields empty.
type Addressee struct {
	FirstName string
	EventName string
	VenueName string
	StartsAt  *time.Time
}

// AddresseeKey names an email's user and event.
type AddresseeKey struct {
	UserID  string
	EventID uuid.UUID
}

// Notification is one email to write in the same transaction as its cause.
type Notification struct {
	// DedupeKey identifies the cause, so re-applying it writes no second email.
	DedupeKey string
	UserID    string
	EventID   *uuid.UUID
	Kind      string
	Subject   string
	Text      string
	HTML      string
}

// EntryFilter selects entries for the admin list.
type EntryFilter struct {
	EventID uuid.UUID
	Status  Status
	Limit   int
	Offset  int
}

// Repository is the waitlist's storage, bound to one transaction or to the database.
type Repository interface {
	// Entries.
	InsertEntry(ctx context.Context, e *Entry) error
	LiveEntry(ctx context.Context, eventID uuid.UUID, userID string) (Entry, error)
	LatestEntry(ctx context.Context, eventID uuid.UUID, userID string) (Entry, error)
	WaitingEntries(ctx context.Context, eventID uuid.UUID) ([]Entry, error)
	LiveEntries(ctx context.Context, eventID uuid.UUID) ([]Entry, error)
	EntryByHold(ctx context.Context, holdID uuid.UUID) (Entry, error)
	// EntriesByHolds returns the entries whose offer hold is one of holdIDs (most holds
	// are not offers: usually none).
	EntriesByHolds(ctx context.Context, holdIDs []uuid.UUID) ([]Entry, error)
	ListEntries(ctx context.Context, f EntryFilter) ([]Entry, int, error)
	Stats(ctx context.Context, eventID uuid.UUID) (Stats, error)
	HasWaiting(ctx context.Context, eventID uuid.UUID) (bool, error)
	// StaleOffers lists up to limit OFFERED entries whose offer expired before before.
	StaleOffers(ctx context.Context, before time.Time, limit int) ([]Entry, error)
	// MarkOffered moves a WAITING entry to OFFERED; false when it is no longer WAITING.
	MarkOffered(ctx context.Context, entryID uuid.UUID, o Offer) (bool, error)
	// EndEntry moves a live entry (in one of from) to a final status; false when it was not in from.
	EndEntry(ctx context.Context, entryID uuid.UUID, from []Status, to Status, reason string, bookingID *uuid.UUID, at time.Time) (bool, error)

	// Read models.
	UpsertEvent(ctx context.Context, e EventInfo) error
	Event(ctx context.Context, id uuid.UUID) (EventInfo, error)
	UpsertUser(ctx context.Context, u UserInfo) error
	User(ctx context.Context, id string) (UserInfo, error)
	// Addressee reads what an email to userID about eventID needs, in one round trip.
	Addressee(ctx context.Context, userID string, eventID uuid.UUID) (Addressee, error)
	// Addressees is Addressee for many (user, event) pairs in one round trip, in their order.
	Addressees(ctx context.Context, to []AddresseeKey) ([]Addressee, error)

	// Offer rounds and notifications.
	RequestRound(ctx context.Context, eventID uuid.UUID, reason string) error
	AddNotification(ctx context.Context, n Notification) error
	// AddNotifications is AddNotification for many in one statement.
	AddNotifications(ctx context.Context, ns []Notification) error
	// RequeueFailedNotifications puts FAILED e-mails (of one event when eventID is set)
	// back in the queue with a fresh attempt budget and answers how many.
	RequeueFailedNotifications(ctx context.Context, eventID *uuid.UUID) (int, error)
	// Publish writes a waitlist event to the outbox in the same transaction.
	Publish(ctx context.Context, eventID uuid.UUID, typ string, payload any) error
}

// ErrNotFoundInStore is what repositories return for a missing row.
var ErrNotFoundInStore = errNotFound{}

type errNotFound struct{}

func (errNotFound) Error() string { return "not found" }

// RoundRequest is an event whose queue needs an offer round; Version tells a request that
// arrived while a round ran from the one it served.
type RoundRequest struct {
	EventID  uuid.UUID
	Version  int64
	Attempts int
	Reason   string
}
