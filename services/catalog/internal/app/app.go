// Package app holds the catalog's use cases: one file per group of actions on templates,
// events, policies, tags and browsing. It validates through domain, persists through the
// domain.Store, announces through the outbox and keeps the browse cache honest.
package app

import (
	"context"
	"time"

	"evently.dev/services/catalog/internal/domain"
)

// Invalidator drops cached browse answers after a committed change.
type Invalidator interface {
	Invalidate(ctx context.Context)
}

// Catalog is the set of use cases, sharing the store, cache and clock.
type Catalog struct {
	store domain.Store
	cache Cacher
	now   func() time.Time
}

// Cacher reads through the browse cache; Invalidate makes it forget everything.
type Cacher interface {
	Invalidator
	Events(ctx context.Context, key string, load func() (EventPage, error)) (EventPage, error)
	Event(ctx context.Context, key string, load func() (domain.Event, error)) (domain.Event, error)
}

// EventPage is one page of a listing with the total number of matches.
type EventPage struct {
	Items []domain.Event
	Total int
}

// New wires the use cases. A nil cacher disables caching.
func New(store domain.Store, cache Cacher, now func() time.Time) *Catalog {
	if now == nil {
		now = time.Now
	}
	if cache == nil {
		cache = noCache{}
	}
	return &Catalog{store: store, cache: cache, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Invalidate forgets cached browse answers (the availability consumer calls it too).
func (a *Catalog) Invalidate(ctx context.Context) { a.cache.Invalidate(ctx) }

type noCache struct{}

func (noCache) Invalidate(context.Context) {}
func (noCache) Events(_ context.Context, _ string, load func() (EventPage, error)) (EventPage, error) {
	return load()
}
func (noCache) Event(_ context.Context, _ string, load func() (domain.Event, error)) (domain.Event, error) {
	return load()
}
