package cache

import (
	"context"

	"evently.dev/services/catalog/internal/app"
	"evently.dev/services/catalog/internal/domain"
)

// Browse adapts the cache to the use cases' needs (app.Cacher).
type Browse struct{ *Cache }

// Events caches a listing page.
func (b Browse) Events(ctx context.Context, key string, load func() (app.EventPage, error)) (app.EventPage, error) {
	return Remember(ctx, b.Cache, "events", key, load)
}

// Event caches one public event.
func (b Browse) Event(ctx context.Context, key string, load func() (domain.Event, error)) (domain.Event, error) {
	return Remember(ctx, b.Cache, "event", key, load)
}
