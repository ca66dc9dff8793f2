// Package events applies the inventory's seat counts the catalog consumes; what the
// catalog publishes is mapped in app.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
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

// bumpEvery is the least time between two in-handler cache invalidations.
const bumpEvery = 50 * time.Millisecond

// Invalidator drops cached browse answers.
type Invalidator interface {
	Invalidate(ctx context.Context)
}

// AvailabilityHandler applies seats.sold / seats.released as per-section deltas counted
// from the seats each carries. Sales of one event commit in parallel in inventory, so the
// counter snapshots in those events are not in order; deltas are, and the consumer inbox
// applies each event exactly once. A seats.released without per-seat sections (an older
// producer) falls back to its snapshot. hold.* events do not change what is sold.
//
// The cache is invalidated inside the handler, before the inbox transaction commits, and
// again shortly after: a reader between the first bump and the commit could otherwise
// cache the old counts under the new generation. That second bump is one timer pushed
// back by every event, not one timer per event: during an on-sale rush the in-handler
// bumps of the following events already cover the earlier commits, and only the last one
// needs the trailing bump. For the same reason the in-handler bump is made at most once
// per bumpEvery: the runner applies a rush's events in batches, and a Redis round trip
// per event of a batch that commits once bought nothing — a count read before a commit
// is replaced by the next bump, at most bumpEvery plus one batch later (or by the
// trailing bump).
func AvailabilityHandler(inv Invalidator, log *slog.Logger) consumer.Handler {
	var mu sync.Mutex
	var trailing *time.Timer
	var lastBump time.Time
	bumpNow := func() bool {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if now.Sub(lastBump) < bumpEvery {
			return false
		}
		lastBump = now
		return true
	}
	invalidateLater := func() {
		mu.Lock()
		defer mu.Unlock()
		if trailing == nil {
			trailing = time.AfterFunc(time.Second, func() { inv.Invalidate(context.Background()) })
			return
		}
		trailing.Reset(time.Second)
	}
	return func(ctx context.Context, tx bun.Tx, e kafka.Event) error {
		var eventID string
		delta := map[string]int{}
		var snapshot []contracts.SectionCount
		var soldTotal int
		switch e.Type {
		case contracts.TypeSeatsSold:
			var p contracts.SeatsSold
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return consumer.Permanent(fmt.Errorf("decode %s: %w", e.Type, err))
			}
			eventID = p.EventID
			for _, st := range p.Seats {
				delta[st.SectionID]++
			}
		case contracts.TypeSeatsReleased:
			var p contracts.SeatsReleased
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return consumer.Permanent(fmt.Errorf("decode %s: %w", e.Type, err))
			}
			eventID = p.EventID
			for _, st := range p.Seats {
				delta[st.SectionID]--
			}
			if len(p.Seats) == 0 {
				snapshot, soldTotal = p.Sections, p.SoldTotal
			}
		default:
			return nil
		}
		id, err := uuid.Parse(eventID)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("%s: bad event_id %q", e.Type, eventID))
		}
		var known bool
		if snapshot != nil {
			known, err = store.WrapTx(tx).SetAvailability(ctx, id, snapshot, soldTotal)
		} else {
			known, err = store.WrapTx(tx).AddSold(ctx, id, delta)
		}
		if err != nil {
			return err
		}
		if !known {
			log.WarnContext(ctx, "seat counts for an unknown event ignored", "event_id", eventID, "type", e.Type)
			return nil
		}
		if bumpNow() {
			inv.Invalidate(ctx)
		}
		invalidateLater()
		return nil
	}
}
