package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"evently.dev/libs/contracts"

	"evently.dev/services/catalog/internal/domain"
)

type pricingJSON struct {
	SectionID uuid.UUID `json:"section_id"`
	Milli     int64     `json:"multiplier_milli"`
}

type eventRow struct {
	bun.BaseModel    `bun:"table:events,alias:e"`
	ID               uuid.UUID     `bun:"id,pk"`
	Name             string        `bun:"name"`
	Description      string        `bun:"description"`
	Category         string        `bun:"category"`
	VenueTemplateID  uuid.UUID     `bun:"venue_template_id"`
	VenueName        string        `bun:"venue_name"`
	StartsAt         time.Time     `bun:"starts_at"`
	EndsAt           time.Time     `bun:"ends_at"`
	Timezone         string        `bun:"timezone"`
	Status           string        `bun:"status"`
	BasePrice        int64         `bun:"base_price"`
	Currency         string        `bun:"currency"`
	HoldLimitPerUser int           `bun:"hold_limit_per_user"`
	SaleStartsAt     *time.Time    `bun:"sale_starts_at"`
	SaleEndsAt       *time.Time    `bun:"sale_ends_at"`
	SectionPricing   []pricingJSON `bun:"section_pricing,type:jsonb"`
	TotalCapacity    int           `bun:"total_capacity"`
	SoldTotal        int           `bun:"sold_total"`
	MinPrice         int64         `bun:"min_price"`
	MaxPrice         int64         `bun:"max_price"`
	Version          int           `bun:"version"`
	PublishedAt      *time.Time    `bun:"published_at"`
	CancelledAt      *time.Time    `bun:"cancelled_at"`
	CancelReason     string        `bun:"cancel_reason"`
	CreatedAt        time.Time     `bun:"created_at"`
	UpdatedAt        time.Time     `bun:"updated_at"`
}

type eventSectionRow struct {
	bun.BaseModel `bun:"table:event_sections"`
	EventID       uuid.UUID `bun:"event_id,pk"`
	SectionID     uuid.UUID `bun:"section_id,pk"`
	Position      int       `bun:"position"`
	Code          string    `bun:"code"`
	Name          string    `bun:"name"`
	PriceTier     string    `bun:"price_tier"`
	RowStart      string    `bun:"row_start"`
	RowEnd        string    `bun:"row_end"`
	SeatsPerRow   int       `bun:"seats_per_row"`
	RowCount      int       `bun:"row_count"`
	Milli         int64     `bun:"multiplier_milli"`
	Price         int64     `bun:"price"`
	Capacity      int       `bun:"capacity"`
	Sold          int       `bun:"sold"`
}

func eventToRows(e domain.Event) (eventRow, []eventSectionRow) {
	lo, hi := e.PriceRange()
	r := eventRow{ID: e.ID, Name: e.Name, Description: e.Description, Category: e.Category,
		VenueTemplateID: e.VenueTemplateID, VenueName: e.VenueName, StartsAt: e.StartsAt, EndsAt: e.EndsAt,
		Timezone: e.Timezone, Status: e.Status, BasePrice: e.BasePrice, Currency: e.Currency,
		HoldLimitPerUser: e.HoldLimitPerUser, SaleStartsAt: e.SaleStartsAt, SaleEndsAt: e.SaleEndsAt,
		SectionPricing: make([]pricingJSON, len(e.Pricing)), TotalCapacity: e.TotalCapacity(), SoldTotal: e.SoldTotal,
		MinPrice: lo, MaxPrice: hi, Version: e.Version, PublishedAt: e.PublishedAt, CancelledAt: e.CancelledAt,
		CancelReason: e.CancelReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	for i, p := range e.Pricing {
		r.SectionPricing[i] = pricingJSON{SectionID: p.SectionID, Milli: p.Milli}
	}
	ss := make([]eventSectionRow, len(e.Sections))
	for i, s := range e.Sections {
		ss[i] = eventSectionRow{EventID: e.ID, SectionID: s.SectionID, Position: s.Position, Code: s.Code, Name: s.Name,
			PriceTier: s.PriceTier, RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow,
			RowCount: s.RowCount, Milli: s.Milli, Price: s.Price, Capacity: s.Capacity, Sold: s.Sold}
	}
	return r, ss
}

func (r eventRow) toDomain(ss []eventSectionRow, tags []string) domain.Event {
	e := domain.Event{ID: r.ID, Name: r.Name, Description: r.Description, Category: r.Category, Tags: tags,
		VenueTemplateID: r.VenueTemplateID, VenueName: r.VenueName, StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(),
		Timezone: r.Timezone, Status: r.Status, BasePrice: r.BasePrice, Currency: r.Currency,
		HoldLimitPerUser: r.HoldLimitPerUser, SaleStartsAt: utcPtr(r.SaleStartsAt), SaleEndsAt: utcPtr(r.SaleEndsAt),
		SoldTotal: r.SoldTotal, Version: r.Version, PublishedAt: utcPtr(r.PublishedAt), CancelledAt: utcPtr(r.CancelledAt),
		CancelReason: r.CancelReason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Pricing: make([]domain.Pricing, len(r.SectionPricing)), Sections: make([]domain.EventSection, len(ss))}
	if e.Tags == nil {
		e.Tags = []string{}
	}
	for i, p := range r.SectionPricing {
		e.Pricing[i] = domain.Pricing{SectionID: p.SectionID, Milli: p.Milli}
	}
	for i, s := range ss {
		e.Sections[i] = domain.EventSection{SectionID: s.SectionID, Position: s.Position, Code: s.Code, Name: s.Name,
			PriceTier: s.PriceTier, RowStart: s.RowStart, RowEnd: s.RowEnd, SeatsPerRow: s.SeatsPerRow,
			RowCount: s.RowCount, Milli: s.Milli, Price: s.Price, Capacity: s.Capacity, Sold: s.Sold}
	}
	return e
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (q queries) getEvent(ctx context.Context, id uuid.UUID, lock bool) (domain.Event, error) {
	var r eventRow
	sel := q.db.NewSelect().Model(&r).Where("id = ?", id)
	if lock {
		sel = sel.For("UPDATE")
	}
	if err := sel.Scan(ctx); err != nil {
		return domain.Event{}, notFound(err, domain.ErrEventNotFound)
	}
	out, err := q.hydrate(ctx, []eventRow{r})
	if err != nil {
		return domain.Event{}, err
	}
	return out[0], nil
}

// hydrate loads the sections and tags of a page of events in two queries.
func (q queries) hydrate(ctx context.Context, rows []eventRow) ([]domain.Event, error) {
	out := make([]domain.Event, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var ss []eventSectionRow
	if err := q.db.NewSelect().Model(&ss).Where("event_id IN (?)", bun.List(ids)).
		Order("event_id", "position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("load event sections: %w", err)
	}
	secs := map[uuid.UUID][]eventSectionRow{}
	for _, s := range ss {
		secs[s.EventID] = append(secs[s.EventID], s)
	}
	var tagRows []struct {
		EventID uuid.UUID `bun:"event_id"`
		Slug    string    `bun:"slug"`
	}
	if err := q.db.NewRaw(`SELECT et.event_id, t.slug FROM event_tags et JOIN tags t ON t.id = et.tag_id
		WHERE et.event_id IN (?) ORDER BY t.slug`, bun.List(ids)).Scan(ctx, &tagRows); err != nil {
		return nil, fmt.Errorf("load event tags: %w", err)
	}
	tags := map[uuid.UUID][]string{}
	for _, t := range tagRows {
		tags[t.EventID] = append(tags[t.EventID], t.Slug)
	}
	for i, r := range rows {
		out[i] = r.toDomain(secs[r.ID], tags[r.ID])
	}
	return out, nil
}

// GetEvent loads an event with its sections and tags.
func (q queries) GetEvent(ctx context.Context, id uuid.UUID) (domain.Event, error) {
	return q.getEvent(ctx, id, false)
}

// LockEvent loads an event and locks its row until the transaction ends.
func (t *txStore) LockEvent(ctx context.Context, id uuid.UUID) (domain.Event, error) {
	return t.getEvent(ctx, id, true)
}

// ListEvents runs a browse filter; total counts every match, not only the page.
func (q queries) ListEvents(ctx context.Context, f domain.Filter) ([]domain.Event, int, error) {
	var rows []eventRow
	sel := q.db.NewSelect().Model(&rows)
	if len(f.Statuses) > 0 {
		sel = sel.Where("e.status IN (?)", bun.List(f.Statuses))
	}
	if terms := domain.SearchTerms(f.Q); len(terms) > 0 {
		parts := make([]string, len(terms))
		for i, t := range terms {
			parts[i] = t + ":*"
		}
		sel = sel.Where("e.search @@ to_tsquery('simple', ?)", strings.Join(parts, " & "))
	} else if f.Q != "" {
		sel = sel.Where("false") // only punctuation: nothing can match
	}
	if f.Category != "" {
		sel = sel.Where("e.category = ?", f.Category)
	}
	if len(f.Tags) > 0 {
		sel = sel.Where(`EXISTS (SELECT 1 FROM event_tags et JOIN tags t ON t.id = et.tag_id
			WHERE et.event_id = e.id AND t.slug IN (?))`, bun.List(f.Tags))
	}
	if f.TemplateID != nil {
		sel = sel.Where("e.venue_template_id = ?", *f.TemplateID)
	}
	if f.From != nil {
		sel = sel.Where("e.starts_at >= ?", *f.From)
	}
	if f.To != nil {
		sel = sel.Where("e.starts_at <= ?", *f.To)
	}
	if f.UpcomingAfter != nil {
		sel = sel.Where("e.starts_at > ?", *f.UpcomingAfter)
	}
	if f.MinPrice != nil || f.MaxPrice != nil {
		lo, hi := int64(0), int64(1<<62)
		if f.MinPrice != nil {
			lo = *f.MinPrice
		}
		if f.MaxPrice != nil {
			hi = *f.MaxPrice
		}
		sel = sel.Where(`EXISTS (SELECT 1 FROM event_sections s WHERE s.event_id = e.id AND s.price BETWEEN ? AND ?)`, lo, hi)
	}
	if f.AvailableOnly {
		sel = sel.Where("e.sold_total < e.total_capacity")
	}
	switch f.Sort {
	case domain.SortDateDesc:
		sel = sel.OrderExpr("e.starts_at DESC, e.id DESC")
	case domain.SortPrice:
		sel = sel.OrderExpr("e.min_price ASC, e.starts_at ASC, e.id")
	case domain.SortPriceDesc:
		sel = sel.OrderExpr("e.min_price DESC, e.starts_at ASC, e.id")
	case domain.SortName:
		sel = sel.OrderExpr("lower(e.name) ASC, e.id")
	case domain.SortNameDesc:
		sel = sel.OrderExpr("lower(e.name) DESC, e.id")
	default:
		sel = sel.OrderExpr("e.starts_at ASC, e.id")
	}
	total, err := sel.Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list events: %w", err)
	}
	out, err := q.hydrate(ctx, rows)
	return out, int(total), err
}

// InsertEvent stores a new event with its sections and tags (unknown tags are created).
func (t *txStore) InsertEvent(ctx context.Context, e domain.Event) error {
	r, ss := eventToRows(e)
	if _, err := t.tx.NewInsert().Model(&r).Exec(ctx); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	if err := t.insertEventSections(ctx, ss); err != nil {
		return err
	}
	return t.setTags(ctx, e.ID, e.Tags)
}

func (t *txStore) insertEventSections(ctx context.Context, ss []eventSectionRow) error {
	if len(ss) == 0 {
		return nil
	}
	if _, err := t.tx.NewInsert().Model(&ss).Exec(ctx); err != nil {
		return fmt.Errorf("insert event sections: %w", err)
	}
	return nil
}

func (t *txStore) setTags(ctx context.Context, eventID uuid.UUID, slugs []string) error {
	if _, err := t.tx.NewDelete().Table("event_tags").Where("event_id = ?", eventID).Exec(ctx); err != nil {
		return fmt.Errorf("clear event tags: %w", err)
	}
	if len(slugs) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(slugs))
	names := make([]string, len(slugs))
	for i, s := range slugs {
		ids[i] = uuid.Must(uuid.NewV7())
		names[i] = domain.TagName(s)
	}
	if _, err := t.tx.NewRaw(`INSERT INTO tags (id, slug, name)
		SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[]) ON CONFLICT (slug) DO NOTHING`,
		pgdialect.Array(ids), pgdialect.Array(slugs), pgdialect.Array(names)).Exec(ctx); err != nil {
		return fmt.Errorf("create tags: %w", err)
	}
	if _, err := t.tx.NewRaw(`INSERT INTO event_tags (event_id, tag_id) SELECT ?, id FROM tags WHERE slug IN (?)`,
		eventID, bun.List(slugs)).Exec(ctx); err != nil {
		return fmt.Errorf("tag event: %w", err)
	}
	return nil
}

// UpdateEvent rewrites the event row, its sections and its tags.
func (t *txStore) UpdateEvent(ctx context.Context, e domain.Event) error {
	r, ss := eventToRows(e)
	res, err := t.tx.NewUpdate().Model(&r).WherePK().ExcludeColumn("id", "created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("update event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrEventNotFound
	}
	if _, err := t.tx.NewDelete().Table("event_sections").Where("event_id = ?", e.ID).Exec(ctx); err != nil {
		return fmt.Errorf("replace event sections: %w", err)
	}
	if err := t.insertEventSections(ctx, ss); err != nil {
		return err
	}
	return t.setTags(ctx, e.ID, e.Tags)
}

// DeleteEvent removes a (draft) event and everything hanging off it.
func (t *txStore) DeleteEvent(ctx context.Context, id uuid.UUID) error {
	res, err := t.tx.NewDelete().Table("events").Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrEventNotFound
	}
	return nil
}

// DraftEventsOn lists (and locks) the drafts laid out on a template, to re-lay them.
func (t *txStore) DraftEventsOn(ctx context.Context, templateID uuid.UUID) ([]domain.Event, error) {
	var rows []eventRow
	if err := t.tx.NewSelect().Model(&rows).Where("venue_template_id = ?", templateID).
		Where("status = ?", domain.StatusDraft).For("UPDATE").Scan(ctx); err != nil {
		return nil, fmt.Errorf("drafts on template: %w", err)
	}
	return t.hydrate(ctx, rows)
}

// AddSold adds per-section sold deltas (negative for returns); false for an unknown event.
// It is one statement: it runs for every sale, inside the availability consumer's batch.
func (t *txStore) AddSold(ctx context.Context, eventID uuid.UUID, delta map[string]int) (bool, error) {
	total := 0
	ids := make([]string, 0, len(delta))
	for sec := range delta {
		ids = append(ids, sec)
	}
	sort.Strings(ids) // one lock order for every writer of these rows
	ds := make([]int64, len(ids))
	for i, sec := range ids {
		ds[i] = int64(delta[sec])
		total += delta[sec]
	}
	var known int
	err := t.tx.NewRaw(`WITH ev AS (
			UPDATE events SET sold_total = GREATEST(sold_total + ?, 0) WHERE id = ? RETURNING id),
		sec AS (UPDATE event_sections s SET sold = GREATEST(s.sold + v.d, 0)
			FROM ev, unnest(?::text[], ?::bigint[]) AS v(section_id, d)
			WHERE s.event_id = ev.id AND s.section_id::text = v.section_id)
		SELECT count(*) FROM ev`,
		total, eventID, pgdialect.Array(ids), pgdialect.Array(ds)).Scan(ctx, &known)
	if err != nil {
		return false, fmt.Errorf("add sold counts: %w", err)
	}
	return known > 0, nil
}

// SetAvailability sets the sold counts inventory reported, absolutely.
func (t *txStore) SetAvailability(ctx context.Context, eventID uuid.UUID, sections []contracts.SectionCount, soldTotal int) (bool, error) {
	res, err := t.tx.NewUpdate().Table("events").Set("sold_total = ?", soldTotal).Where("id = ?", eventID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("set sold total: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if len(sections) == 0 {
		return true, nil
	}
	ids := make([]string, len(sections))
	sold := make([]int64, len(sections))
	for i, s := range sections {
		ids[i], sold[i] = s.SectionID, int64(s.Sold)
	}
	if _, err := t.tx.NewRaw(`UPDATE event_sections s SET sold = v.sold
		FROM (SELECT * FROM unnest(?::text[], ?::bigint[]) AS x(section_id, sold)) v
		WHERE s.event_id = ? AND s.section_id::text = v.section_id`,
		pgdialect.Array(ids), pgdialect.Array(sold), eventID).Exec(ctx); err != nil {
		return false, fmt.Errorf("set section counts: %w", err)
	}
	return true, nil
}
