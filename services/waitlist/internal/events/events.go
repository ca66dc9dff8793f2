// Package events applies the facts other services publish to the waitlist: users
// (identity), events (catalog), seats and holds (inventory), bookings (booking). Each is
// applied inside the consumer's exactly-once transaction.
package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/waitlist/internal/app"
	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/store"
)

// Group is the consumer group (before the environment's topic prefix).
const Group = "waitlist-notifier"

// Topics are what the waitlist consumes.
var Topics = []string{contracts.TopicIdentityUsers, contracts.TopicCatalogEvents, contracts.TopicInventorySeats, contracts.TopicBookingBookings}

// Types are the event types Handle acts on; the runner acknowledges the rest (hold.created
// and seats.sold, the bulk of a rush) without a transaction.
var Types = []string{contracts.TypeUserRegistered, contracts.TypeEventPublished, contracts.TypeEventUpdated,
	contracts.TypeEventCancelled, contracts.TypeSeatsReleased, contracts.TypeHoldExpired, contracts.TypeHoldReleased,
	contracts.TypeBookingConfirmed, contracts.TypeBookingCancelled}

// Handlers maps consumed events to use cases.
type Handlers struct {
	App *app.Service
}

// Handle is the consumer handler for every topic in Topics.
func (h *Handlers) Handle(ctx context.Context, tx bun.Tx, e kafka.Event) error {
	r := store.New(tx)
	if c, ok := consumer.ScopeFrom(ctx).(*confirmations); ok {
		if e.Type == contracts.TypeBookingConfirmed {
			var p contracts.BookingConfirmed
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return consumer.Permanent(fmt.Errorf("%s %s: decode: %w", e.Type, e.ID, err))
			}
			c.facts = append(c.facts, p)
			return nil
		}
		// Any other fact may depend on the confirmations before it (an offer converted,
		// then its hold released): apply those first, in order.
		if err := c.Flush(ctx, tx); err != nil {
			return err
		}
	}
	switch e.Type {
	case contracts.TypeUserRegistered:
		return apply(ctx, r, e, h.App.UserRegistered)
	case contracts.TypeEventPublished:
		return apply(ctx, r, e, h.App.EventPublished)
	case contracts.TypeEventUpdated:
		return apply(ctx, r, e, h.App.EventUpdated)
	case contracts.TypeEventCancelled:
		return apply(ctx, r, e, h.App.EventCancelled)
	case contracts.TypeSeatsReleased:
		return apply(ctx, r, e, h.App.SeatsReleased)
	case contracts.TypeHoldExpired:
		return apply(ctx, r, e, h.App.HoldExpired)
	case contracts.TypeHoldReleased:
		return apply(ctx, r, e, h.App.HoldReleased)
	case contracts.TypeBookingConfirmed:
		return apply(ctx, r, e, h.App.BookingConfirmed)
	case contracts.TypeBookingCancelled:
		return apply(ctx, r, e, h.App.BookingCancelled)
	default:
		return nil // facts the waitlist does not need (hold.created, seats.sold, policy.updated ...)
	}
}

// Scope is the runner's Options.Scope for Handle: within one transaction, booking
// confirmations are collected and applied together (App.BookingsConfirmed), before any
// other fact of the batch and at its end.
func (h *Handlers) Scope() consumer.TxScope { return &confirmations{app: h.App} }

// confirmations is the booking.confirmed facts of a transaction not applied yet.
type confirmations struct {
	app   *app.Service
	facts []contracts.BookingConfirmed
}

// Flush applies the collected confirmations.
func (c *confirmations) Flush(ctx context.Context, tx bun.Tx) error {
	if len(c.facts) == 0 {
		return nil
	}
	facts := c.facts
	c.facts = nil
	return c.app.BookingsConfirmed(ctx, store.New(tx), facts)
}

// apply decodes e's payload as P and runs fn; an undecodable payload can never succeed,
// so it is dead-lettered at once.
func apply[P any](ctx context.Context, r domain.Repository, e kafka.Event, fn func(context.Context, domain.Repository, P) error) error {
	var p P
	if err := json.Unmarshal(e.Data, &p); err != nil {
		return consumer.Permanent(fmt.Errorf("%s %s: decode: %w", e.Type, e.ID, err))
	}
	return fn(ctx, r, p)
}
