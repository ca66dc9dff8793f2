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

	"evently.dev/services/catalog/internal/store"
)

// AvailabilityGroup is the consumer group that keeps sold counts from inventory.
const AvailabilityGroup = "catalog-availability"

// Invalidator drops cached browse answers.
type Invalidator interface {
	Invalidate(ctx context.Context)
}

// AvailabilityHandler applies seats.sold / seats.released: both carry absolute counts per
// section, so applying one twice or late in a burst converges on the same numbers.
// hold.* events do not change what is sold and are skipped.
//
// The cache is invalidated inside the handler, before the inbox transaction commits, and
// again shortly after: a reader between the first bump and the commit could otherwise
// cache the old counts under the new generation.
func AvailabilityHandler(inv Invalidator, log *slog.Logger) consumer.Handler {
	return func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		var eventID string
		var sections []contracts.SectionCount
		var soldTotal int
		switch e.Type {
		case contracts.TypeSeatsSold:
			var p contracts.SeatsSold
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return consumer.Permanent(fmt.Errorf("decode %s: %w", e.Type, err))
			}
			eventID, sections, soldTotal = p.EventID, p.Sections, p.SoldTotal
		case contracts.TypeSeatsReleased:
			var p contracts.SeatsReleased
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return consumer.Permanent(fmt.Errorf("decode %s: %w", e.Type, err))
			}
			eventID, sections, soldTotal = p.EventID, p.Sections, p.SoldTotal
		default:
			return nil
		}
		id, err := uuid.Parse(eventID)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("%s: bad event_id %q", e.Type, eventID))
		}
		known, err := store.WrapTx(tx).SetAvailability(ctx, id, sections, soldTotal)
		if err != nil {
			return err
		}
		if !known {
			log.WarnContext(ctx, "seat counts for an unknown event ignored", "event_id", eventID, "type", e.Type)
			return nil
		}
		inv.Invalidate(ctx)
		time.AfterFunc(time.Second, func() { inv.Invalidate(context.Background()) })
		return nil
	}
}
