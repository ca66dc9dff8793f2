package domain

import (
	"context"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"
)

// Reader answers the catalog's queries. Every "not found" is the matching sentinel.
type Reader interface {
	GetTemplate(ctx context.Context, id uuid.UUID) (Template, error)
	ListTemplates(ctx context.Context, q string, limit, offset int) ([]Template, int, error)
	GetEvent(ctx context.Context, id uuid.UUID) (Event, error)
	ListEvents(ctx context.Context, f Filter) ([]Event, int, error)
	CurrentPolicy(ctx context.Context, eventID uuid.UUID) (Policy, error)
	GetTag(ctx context.Context, id uuid.UUID) (Tag, error)
	ListTags(ctx context.Context, activeAfter *time.Time, limit, offset int) ([]Tag, int, error)
}

// Tx is one transaction: reads see its writes, and Publish records an event that leaves
// only if the transaction commits (the outbox).
type Tx interface {
	Reader
	// LockTemplate and LockEvent read with a row lock, so concurrent changes serialise.
	LockTemplate(ctx context.Context, id uuid.UUID) (Template, error)
	LockEvent(ctx context.Context, id uuid.UUID) (Event, error)
	// EndedEvents locks up to limit PUBLISHED events that ended before now, skipping rows
	// others hold.
	EndedEvents(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error)
	TemplateNameTaken(ctx context.Context, name string, except uuid.UUID) (bool, error)
	InsertTemplate(ctx context.Context, t Template) error
	UpdateTemplate(ctx context.Context, t Template) error
	DeleteTemplate(ctx context.Context, id uuid.UUID) error
	// TemplateUsage counts the events on a template: all of them, and those not DRAFT.
	TemplateUsage(ctx context.Context, id uuid.UUID) (total, live int, err error)
	DraftEventsOn(ctx context.Context, templateID uuid.UUID) ([]Event, error)
	InsertEvent(ctx context.Context, e Event) error
	UpdateEvent(ctx context.Context, e Event) error
	DeleteEvent(ctx context.Context, id uuid.UUID) error
	InsertPolicy(ctx context.Context, p Policy) error
	TagSlugTaken(ctx context.Context, slug string, except uuid.UUID) (bool, error)
	InsertTag(ctx context.Context, t Tag) error
	UpdateTag(ctx context.Context, t Tag) error
	DeleteTag(ctx context.Context, id uuid.UUID) error
	// AddSold adds per-section sold deltas; it reports false for an unknown event.
	AddSold(ctx context.Context, eventID uuid.UUID, delta map[string]int) (bool, error)
	// SetAvailability sets absolute sold counts; it reports false for an unknown event.
	SetAvailability(ctx context.Context, eventID uuid.UUID, sections []contracts.SectionCount, soldTotal int) (bool, error)
	Publish(ctx context.Context, ceType, key string, payload any) error
}

// Store runs transactions and plain reads.
type Store interface {
	Reader
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}
