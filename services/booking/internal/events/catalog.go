// Package events is the booking service's Kafka side: the consumer of catalog's events
// that feeds the local read model (and cancels bookings of cancelled events). Outgoing
// payloads are mapped in app/contracts.go and written through the outbox.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/booking/internal/app"
	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/domain/refund"
	"evently.dev/services/booking/internal/store"
)

// GroupCatalog is the consumer group reading catalog's topic.
const GroupCatalog = "booking-catalog"

// Handlers applies consumed events through the use cases.
type Handlers struct {
	App *app.Service
	Log *slog.Logger
}

// Catalog handles evently.catalog.events.v1 inside the consumer's transaction tx.
func (h *Handlers) Catalog(ctx context.Context, tx bun.Tx, e kafka.Event) error {
	r := store.New(tx)
	switch e.Type {
	case contracts.TypeEventPublished:
		var p contracts.EventPublished
		id, err := decode(e, &p, func() string { return p.EventID })
		if err != nil {
			return err
		}
		facts := domain.Event{ID: id, Name: p.Name, Status: domain.EventPublished, StartsAt: utc(p.StartsAt.UTC()),
			Currency: p.Currency, EventVersion: p.Version}
		if err := h.App.SaveEventFacts(ctx, r, facts); err != nil {
			return err
		}
		if p.Policy != nil {
			return h.App.SavePolicy(ctx, r, policyEvent(id, *p.Policy))
		}
		return nil
	case contracts.TypeEventUpdated:
		var p contracts.EventUpdated
		id, err := decode(e, &p, func() string { return p.EventID })
		if err != nil {
			return err
		}
		return h.App.SaveEventFacts(ctx, r, domain.Event{ID: id, Name: p.Name, Status: p.Status,
			StartsAt: utc(p.StartsAt.UTC()), Currency: p.Currency, EventVersion: p.Version})
	case contracts.TypePolicyUpdated:
		var p contracts.PolicyUpdated
		id, err := decode(e, &p, func() string { return p.EventID })
		if err != nil {
			return err
		}
		return h.App.SavePolicy(ctx, r, policyEvent(id, p.PolicySnapshot))
	case contracts.TypeEventCancelled:
		var p contracts.EventCancelled
		id, err := decode(e, &p, func() string { return p.EventID })
		if err != nil {
			return err
		}
		n, err := h.App.CancelEvent(ctx, r, id, p.Reason)
		if err != nil {
			return err
		}
		h.Log.InfoContext(ctx, "event cancelled: bookings refunded in full", "event_id", id, "bookings", n)
		return nil
	default:
		return nil // other catalog facts are not booking's concern
	}
}

// decode unmarshals the payload and parses its event id; a payload that cannot be read
// never will be, so it is parked on the DLQ at once.
func decode(e kafka.Event, dst any, eventID func() string) (uuid.UUID, error) {
	if err := json.Unmarshal(e.Data, dst); err != nil {
		return uuid.Nil, consumer.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	id, err := uuid.Parse(eventID())
	if err != nil {
		return uuid.Nil, consumer.Permanent(fmt.Errorf("%s %s: bad event_id %q", e.Type, e.ID, eventID()))
	}
	return id, nil
}

func policyEvent(id uuid.UUID, p contracts.PolicySnapshot) domain.Event {
	tiers := make([]refund.Tier, len(p.RefundTiers))
	for i, t := range p.RefundTiers {
		tiers[i] = refund.Tier{HoursBefore: t.HoursBefore, Percent: t.RefundPercent}
	}
	var deadline *time.Time
	if p.CancellationDeadline != nil {
		deadline = utc(p.CancellationDeadline.UTC())
	}
	return domain.Event{ID: id, PolicyVersion: p.PolicyVersion, Policy: &refund.Policy{Version: p.PolicyVersion,
		AllowCancellation: p.AllowCancellation, Deadline: deadline, FeeType: p.FeeType, FeeAmount: p.FeeAmount,
		Tiers: tiers, RequiresApproval: p.RequiresApproval, RefundProcessingDays: p.RefundProcessingDays}}
}

func utc(t time.Time) *time.Time { return &t }
