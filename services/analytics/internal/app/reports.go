package app

import (
	"context"
	"sync"
	"time"

	"evently.dev/services/analytics/internal/domain"
)

// Reports answers the analytics endpoints from the serving generation.
type Reports struct {
	Models ReadModels
	// LiveMinutes is how many recent minutes the live view lists.
	LiveMinutes int
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu       sync.Mutex
	gen      domain.Generation
	loc      *time.Location
	genUntil time.Time
}

// GenerationTTL is how long a read trusts the generation it looked up last. It saves a
// round trip per request and is shorter than a rebuild's grace before it drops the old
// generation, so a report never reads rows that are gone.
const GenerationTTL = time.Second

func (r *Reports) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// serving reads the serving generation and its reporting zone.
func (r *Reports) serving(ctx context.Context) (int, *time.Location, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Before(r.genUntil) {
		return r.gen.Serving, r.loc, nil
	}
	g, err := r.Models.CurrentGeneration(ctx)
	if err != nil {
		return 0, nil, err
	}
	loc, err := domain.LoadZone(g.Timezone)
	if err != nil {
		return 0, nil, err
	}
	r.gen, r.loc, r.genUntil = g, loc, time.Now().Add(GenerationTTL)
	return g.Serving, loc, nil
}

// Overview is the totals over all events.
func (r *Reports) Overview(ctx context.Context) (domain.Overview, *time.Location, error) {
	gen, loc, err := r.serving(ctx)
	if err != nil {
		return domain.Overview{}, nil, err
	}
	o, err := r.Models.Overview(ctx, gen)
	return o, loc, err
}

// Event is one event's report.
func (r *Reports) Event(ctx context.Context, eventID string) (domain.EventReport, *time.Location, error) {
	gen, loc, err := r.serving(ctx)
	if err != nil {
		return domain.EventReport{}, nil, err
	}
	rep, err := r.Models.EventReport(ctx, gen, eventID)
	return rep, loc, err
}

// RevenueParams are a revenue report's raw query parameters.
type RevenueParams struct {
	From, To, GroupBy, Currency string
	Limit, Offset               int
}

// Revenue validates the range in the serving generation's zone and reads the report.
func (r *Reports) Revenue(ctx context.Context, p RevenueParams) (domain.RevenueReport, domain.RevenueQuery, *time.Location, error) {
	gen, loc, err := r.serving(ctx)
	if err != nil {
		return domain.RevenueReport{}, domain.RevenueQuery{}, nil, err
	}
	q, err := domain.ParseRevenueQuery(p.From, p.To, p.GroupBy, p.Currency, loc, r.now())
	if err != nil {
		return domain.RevenueReport{}, q, loc, err
	}
	rep, err := r.Models.Revenue(ctx, gen, q, p.Limit, p.Offset)
	return rep, q, loc, err
}

// Popular ranks events.
func (r *Reports) Popular(ctx context.Context, by domain.PopularBy, currency string, limit int) ([]domain.PopularEvent, error) {
	gen, _, err := r.serving(ctx)
	if err != nil {
		return nil, err
	}
	return r.Models.Popular(ctx, gen, by, currency, limit)
}

// Live is the live monitoring view.
func (r *Reports) Live(ctx context.Context) (domain.Live, error) {
	gen, _, err := r.serving(ctx)
	if err != nil {
		return domain.Live{}, err
	}
	minutes := max(r.LiveMinutes, domain.LiveWindows[len(domain.LiveWindows)-1])
	return r.Models.Live(ctx, gen, r.now(), minutes)
}
