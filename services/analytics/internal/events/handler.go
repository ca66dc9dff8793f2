// Package events turns the catalog, inventory, booking and waitlist topics into analytics'
// read models: the consumer handler, the follower that keeps a serving replica on the
// current generation, and the catch-up check a rebuild uses.
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

	"evently.dev/services/analytics/internal/store"
)

// Topics are what analytics consumes.
var Topics = []string{contracts.TopicCatalogEvents, contracts.TopicInventorySeats, contracts.TopicBookingBookings,
	contracts.TopicWaitlist}

// Types are the event types apply reads; the runner acknowledges the others (policy
// updates, types added later) without a transaction.
var Types = []string{contracts.TypeEventPublished, contracts.TypeEventUpdated, contracts.TypeEventCancelled,
	contracts.TypeHoldCreated, contracts.TypeHoldReleased, contracts.TypeHoldExpired, contracts.TypeSeatsSold,
	contracts.TypeSeatsReleased, contracts.TypeBookingConfirmed, contracts.TypeBookingCancelled,
	contracts.TypeWaitlistJoined, contracts.TypeWaitlistOffered, contracts.TypeWaitlistConverted,
	contracts.TypeWaitlistExpired, contracts.TypeWaitlistLeft}

// Handler applies one event to the projector's generation inside the runner's transaction.
// Types analytics does not read (policy.updated, future types) are accepted and ignored;
// a payload that cannot be decoded or lacks its show id is dead-lettered.
func Handler(p store.Projector, log *slog.Logger) consumer.Handler {
	return func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		return apply(ctx, tx, p, log, e)
	}
}

// Scope gives each of the runner's transactions a collector of generation gen's counter
// moves, written once when the transaction's facts are all applied.
func Scope(gen int) func() consumer.TxScope {
	return func() consumer.TxScope { return store.NewDeltas(gen) }
}

// apply hands e to the step for its producer; every step decodes the payload (see decode)
// and projects it within tx.
func apply(ctx context.Context, tx bun.Tx, p store.Projector, log *slog.Logger, e kafka.Event) error {
	switch e.Type {
	case contracts.TypeEventPublished, contracts.TypeEventUpdated, contracts.TypeEventCancelled:
		return applyCatalog(ctx, tx, p, e)
	case contracts.TypeHoldCreated, contracts.TypeHoldReleased, contracts.TypeHoldExpired,
		contracts.TypeSeatsSold, contracts.TypeSeatsReleased:
		return applyInventory(ctx, tx, p, e)
	case contracts.TypeBookingConfirmed, contracts.TypeBookingCancelled:
		return applyBooking(ctx, tx, p, log, e)
	case contracts.TypeWaitlistJoined, contracts.TypeWaitlistOffered, contracts.TypeWaitlistConverted,
		contracts.TypeWaitlistExpired, contracts.TypeWaitlistLeft:
		return applyWaitlist(ctx, tx, p, e)
	default:
		return nil
	}
}

// applyCatalog records a show's facts: name, category, start, sections, cancellation.
func applyCatalog(ctx context.Context, tx bun.Tx, p store.Projector, e kafka.Event) error {
	switch e.Type {
	case contracts.TypeEventPublished:
		var d contracts.EventPublished
		if err := decode(e, &d, &d.EventID); err != nil {
			return err
		}
		return p.EventPublished(ctx, tx, d)
	case contracts.TypeEventUpdated:
		var d contracts.EventUpdated
		if err := decode(e, &d, &d.EventID); err != nil {
			return err
		}
		return p.EventUpdated(ctx, tx, d)
	default: // contracts.TypeEventCancelled
		var d contracts.EventCancelled
		if err := decode(e, &d, &d.EventID); err != nil {
			return err
		}
		d.CancelledAt = at(d.CancelledAt, e)
		return p.EventCancelled(ctx, tx, d)
	}
}

// applyInventory follows holds and the seat ledger.
func applyInventory(ctx context.Context, tx bun.Tx, p store.Projector, e kafka.Event) error {
	switch e.Type {
	case contracts.TypeHoldCreated:
		var d contracts.HoldCreated
		if err := decode(e, &d, &d.EventID); err != nil {
			return err
		}
		return p.HoldCreated(ctx, tx, d, at(d.CreatedAt, e))
	case contracts.TypeHoldReleased:
		var d contracts.HoldReleased
		return holdEnded(ctx, tx, p, e, &d, &d.HoldID, &d.EventID, store.HoldReleased)
	case contracts.TypeHoldExpired:
		var d contracts.HoldExpired
		return holdEnded(ctx, tx, p, e, &d, &d.HoldID, &d.EventID, store.HoldExpired)
	case contracts.TypeSeatsSold:
		var d contracts.SeatsSold
		if err := decode(e, &d, &d.EventID); err != nil {
			return err
		}
		return p.SeatsSold(ctx, tx, d)
	default: // contracts.TypeSeatsReleased
		var d contracts.SeatsReleased
		if err := decode(e, &d, &d.EventID); err != nil {
			return err
		}
		return p.SeatsReleased(ctx, tx, d)
	}
}

// holdEnded decodes a hold's end into dst, whose holdID and eventID fields it reads, and
// records status.
func holdEnded(ctx context.Context, tx bun.Tx, p store.Projector, e kafka.Event, dst any, holdID, eventID *string,
	status string) error {
	if err := decode(e, dst, eventID); err != nil {
		return err
	}
	return p.HoldEnded(ctx, tx, *holdID, *eventID, status)
}

// applyBooking counts sales and refunds. A cancellation of a booking this generation never
// saw confirmed is logged and not counted: there is nothing to subtract it from.
func applyBooking(ctx context.Context, tx bun.Tx, p store.Projector, log *slog.Logger, e kafka.Event) error {
	if e.Type == contracts.TypeBookingConfirmed {
		var d contracts.BookingConfirmed
		if err := decode(e, &d, &d.EventID); err != nil {
			return err
		}
		if d.BookingID == "" || d.Currency == "" {
			return consumer.Permanent(fmt.Errorf("%s %s: booking_id and currency are required", e.Type, e.ID))
		}
		return p.BookingConfirmed(ctx, tx, d, at(d.ConfirmedAt, e))
	}
	var d contracts.BookingCancelled
	if err := decode(e, &d, &d.EventID); err != nil {
		return err
	}
	known, err := p.BookingCancelled(ctx, tx, d, at(d.CancelledAt, e))
	if err == nil && !known {
		log.WarnContext(ctx, "cancellation of a booking never confirmed here; not counted",
			"booking_id", d.BookingID, "event_id", d.EventID, "ce_id", e.ID)
	}
	return err
}

// applyWaitlist moves an entry to the state its fact names and bumps that fact's counter.
func applyWaitlist(ctx context.Context, tx bun.Tx, p store.Projector, e kafka.Event) error {
	switch e.Type {
	case contracts.TypeWaitlistJoined:
		var d contracts.WaitlistJoined
		return entryMoved(ctx, tx, p, e, &d, &d.EntryID, &d.EventID, store.EntryWaiting, "waitlist_joined")
	case contracts.TypeWaitlistOffered:
		var d contracts.WaitlistOffered
		return entryMoved(ctx, tx, p, e, &d, &d.EntryID, &d.EventID, store.EntryOffered, "offers_made")
	case contracts.TypeWaitlistConverted:
		var d contracts.WaitlistConverted
		return entryMoved(ctx, tx, p, e, &d, &d.EntryID, &d.EventID, store.EntryConverted, "offers_converted")
	case contracts.TypeWaitlistExpired:
		var d contracts.WaitlistExpired
		return entryMoved(ctx, tx, p, e, &d, &d.EntryID, &d.EventID, store.EntryExpired, "offers_expired")
	default: // contracts.TypeWaitlistLeft
		var d contracts.WaitlistLeft
		return entryMoved(ctx, tx, p, e, &d, &d.EntryID, &d.EventID, store.EntryLeft, "waitlist_left")
	}
}

// entryMoved decodes a waitlist fact into dst, whose entryID and eventID fields it reads,
// and records the entry's new status and counter.
func entryMoved(ctx context.Context, tx bun.Tx, p store.Projector, e kafka.Event, dst any, entryID, eventID *string,
	status, counter string) error {
	if err := decode(e, dst, eventID); err != nil {
		return err
	}
	return p.Waitlist(ctx, tx, *entryID, *eventID, status, counter)
}

// decode unmarshals the payload and checks the show id, which every read model is keyed
// by; either failing is permanent, so the message is parked instead of blocking its partition.
func decode(e kafka.Event, dst any, eventID *string) error {
	if err := json.Unmarshal(e.Data, dst); err != nil {
		return consumer.Permanent(fmt.Errorf("%s %s: decode payload: %w", e.Type, e.ID, err))
	}
	id, err := uuid.Parse(*eventID)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("%s %s: event_id %q is not a UUID", e.Type, e.ID, *eventID))
	}
	*eventID = id.String()
	return nil
}

// at is the fact's own time, or the envelope's ce_time when the payload lacks it.
func at(t time.Time, e kafka.Event) time.Time {
	if t.IsZero() {
		t = e.Time
	}
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC()
}
