// Package events consumes the facts the inventory depends on: catalog's event lifecycle
// (which builds and maintains the seat ledger) and booking's cancellations (which return
// seats to sale). Every handler writes through the consumer's transaction, which also
// records the event id in the inbox: a redelivered message changes nothing.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/inventory/internal/app"
	"evently.dev/services/inventory/internal/domain"
	"evently.dev/services/inventory/internal/store"
)

// ledger is the ledger inside the consumer's transaction, which also holds the inbox row.
func ledger(tx bun.Tx) domain.Ledger { return store.New(tx) }

// Consumer groups.
const (
	GroupCatalog  = "inventory-catalog"
	GroupBookings = "inventory-bookings"
)

// Handlers applies consumed events to the inventory.
type Handlers struct {
	App *app.Service
	Log *slog.Logger
}

// Catalog handles evently.catalog.events.v1.
func (h *Handlers) Catalog(ctx context.Context, tx bun.Tx, e kafka.Event) error {
	switch e.Type {
	case contracts.TypeEventPublished:
		var p contracts.EventPublished
		if err := decode(e, &p); err != nil {
			return err
		}
		pub, err := Published(p)
		if err != nil {
			return consumer.Permanent(err)
		}
		start := time.Now()
		created, seats, err := h.App.BuildLedger(ctx, ledger(tx), pub)
		if err != nil {
			return err
		}
		if created {
			h.Log.InfoContext(ctx, "seat ledger built", "event_id", p.EventID, "seats", seats,
				"duration_ms", time.Since(start).Milliseconds())
		}
		return nil
	case contracts.TypeEventCancelled:
		var p contracts.EventCancelled
		if err := decode(e, &p); err != nil {
			return err
		}
		id, err := uuid.Parse(p.EventID)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("event.cancelled: bad event_id %q", p.EventID))
		}
		return h.App.CancelEvent(ctx, ledger(tx), id)
	case contracts.TypeEventUpdated:
		var p contracts.EventUpdated
		if err := decode(e, &p); err != nil {
			return err
		}
		id, err := uuid.Parse(p.EventID)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("event.updated: bad event_id %q", p.EventID))
		}
		prices := make(map[string]int64, len(p.Prices))
		for _, sp := range p.Prices {
			if sp.Price < 0 {
				return consumer.Permanent(fmt.Errorf("event.updated: negative price for section %s", sp.SectionID))
			}
			prices[sp.SectionID] = sp.Price
		}
		return h.App.UpdateEvent(ctx, ledger(tx), domain.EventUpdate{EventID: id, Name: p.Name, Status: strings.ToUpper(p.Status),
			StartsAt: p.StartsAt, EndsAt: p.EndsAt, HoldLimitPerUser: p.HoldLimitPerUser, Prices: prices, Version: p.Version})
	}
	return nil // other catalog facts (policies) do not concern the inventory
}

// Published maps catalog's event.published to the ledger's terms, refusing what cannot
// be sold (no sections, unknown currency, a section without rows).
func Published(p contracts.EventPublished) (domain.PublishedEvent, error) {
	id, err := uuid.Parse(p.EventID)
	if err != nil {
		return domain.PublishedEvent{}, fmt.Errorf("event.published: bad event_id %q", p.EventID)
	}
	if len(p.Currency) != 3 {
		return domain.PublishedEvent{}, fmt.Errorf("event.published %s: bad currency %q", id, p.Currency)
	}
	if len(p.Sections) == 0 {
		return domain.PublishedEvent{}, fmt.Errorf("event.published %s: no sections", id)
	}
	ev := domain.Event{ID: id, Name: p.Name, Status: domain.EventPublished, Currency: strings.ToUpper(p.Currency),
		HoldLimitPerUser: p.HoldLimitPerUser, StartsAt: p.StartsAt, EndsAt: p.EndsAt,
		SaleStartsAt: p.SaleStartsAt, SaleEndsAt: p.SaleEndsAt, Version: p.Version}
	if ev.EndsAt.IsZero() {
		ev.EndsAt = ev.StartsAt
	}
	layout := make([]domain.SectionLayout, 0, len(p.Sections))
	seen := map[string]bool{}
	for _, s := range p.Sections {
		if s.SectionID == "" || seen[s.SectionID] {
			return domain.PublishedEvent{}, fmt.Errorf("event.published %s: missing or duplicate section id %q", id, s.SectionID)
		}
		if s.Price < 0 {
			return domain.PublishedEvent{}, fmt.Errorf("event.published %s: negative price in section %s", id, s.SectionID)
		}
		seen[s.SectionID] = true
		code := s.Code
		if code == "" {
			code = s.Name
		}
		ev.Sections = append(ev.Sections, domain.Section{ID: s.SectionID, Code: code, Name: s.Name, Price: s.Price})
		sl := domain.SectionLayout{ID: s.SectionID, Code: code, Name: s.Name}
		for _, r := range s.Rows {
			sl.Rows = append(sl.Rows, domain.RowRun{Label: r.Label, First: r.First, Last: r.Last, Y: r.Y, X0: r.X0, DX: r.DX})
		}
		layout = append(layout, sl)
	}
	published := p.PublishedAt
	if published.IsZero() {
		published = time.Now()
	}
	return domain.PublishedEvent{Event: ev, Layout: layout, PublishedAt: published}, nil
}

// Bookings handles evently.booking.bookings.v1: a cancelled booking's seats return to sale
// exactly once (the ledger update is conditional on booking id and SOLD status, and the
// inbox drops redeliveries).
func (h *Handlers) Bookings(ctx context.Context, tx bun.Tx, e kafka.Event) error {
	if e.Type != contracts.TypeBookingCancelled {
		return nil
	}
	var p contracts.BookingCancelled
	if err := decode(e, &p); err != nil {
		return err
	}
	id, err := uuid.Parse(p.BookingID)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("booking.cancelled: bad booking_id %q", p.BookingID))
	}
	res, changed, err := h.App.ReturnBookingSeats(ctx, ledger(tx), id)
	if err != nil || !changed {
		return err
	}
	// Redis is told before the transaction commits (the runner owns it). If the commit then
	// fails, Redis shows seats free that the ledger still has SOLD until the retry succeeds:
	// a hold may be placed, but its commit is refused by the ledger. Never a double sale.
	if err := h.App.SyncReturned(ctx, res); err != nil {
		h.Log.WarnContext(ctx, "booking.cancelled: redis update failed; the ledger is right", "booking_id", id, "error", err)
	}
	return nil
}

func decode(e kafka.Event, v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return consumer.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	return nil
}
