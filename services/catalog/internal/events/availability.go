// Package events applies the inventory's seat counts the catalog consumes; what the
// catalog publishes is mapped in app.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/catalog/internal/domain"
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
	return NewAvailability(inv, log).Handler()
}

// Availability is the availability consumer's handler and its per-transaction scope,
// sharing the cache invalidation.
type Availability struct {
	log     *slog.Logger
	changed func() // counts moved: invalidate the cache now (at most every bumpEvery) and later
}

// NewAvailability returns the availability consumer's parts; give the runner both
// Handler and Scope so a batch's sales are counted in one statement per event.
func NewAvailability(inv Invalidator, log *slog.Logger) *Availability {
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
	return &Availability{log: log, changed: func() {
		if bumpNow() {
			inv.Invalidate(context.Background())
		}
		invalidateLater()
	}}
}

// Handler applies one seats fact; inside a runner with Scope it only collects the moves.
func (a *Availability) Handler() consumer.Handler {
	log, changed := a.log, a.changed
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
		tx2 := store.WrapTx(tx)
		pending, _ := consumer.ScopeFrom(ctx).(*SoldDeltas)
		if snapshot == nil && pending != nil {
			pending.add(id, delta)
			return nil // counted once for the whole batch in Flush
		}
		if pending != nil {
			// An absolute count replaces what came before it: write the batch's
			// earlier deltas of this event first.
			if err := pending.flushEvent(ctx, tx2, id); err != nil {
				return err
			}
		}
		var known bool
		if snapshot != nil {
			known, err = tx2.SetAvailability(ctx, id, snapshot, soldTotal)
		} else {
			known, err = tx2.AddSold(ctx, id, delta)
		}
		if err != nil {
			return err
		}
		if !known {
			log.WarnContext(ctx, "seat counts for an unknown event ignored", "event_id", eventID, "type", e.Type)
			return nil
		}
		changed()
		return nil
	}
}

// SoldDeltas is the availability consumer's TxScope: the per-section sold moves of one
// transaction's facts, summed per event and written once per event when the transaction
// ends. A rush's sales all move the same event row; written once per fact, that row grew
// a chain of versions inside the batch that every later update walked.
type SoldDeltas struct {
	by      map[uuid.UUID]map[string]int
	log     *slog.Logger
	changed func()
}

// Scope is the runner's Options.Scope for Handler.
func (a *Availability) Scope() consumer.TxScope {
	return &SoldDeltas{by: map[uuid.UUID]map[string]int{}, log: a.log, changed: a.changed}
}

func (d *SoldDeltas) add(id uuid.UUID, delta map[string]int) {
	m := d.by[id]
	if m == nil {
		m = make(map[string]int, len(delta))
		d.by[id] = m
	}
	for sec, n := range delta {
		m[sec] += n
	}
}

// flushEvent writes the collected moves of one event.
func (d *SoldDeltas) flushEvent(ctx context.Context, tx domain.Tx, id uuid.UUID) error {
	delta, ok := d.by[id]
	if !ok {
		return nil
	}
	delete(d.by, id)
	known, err := tx.AddSold(ctx, id, delta)
	if err != nil {
		return err
	}
	if !known {
		d.log.WarnContext(ctx, "seat counts for an unknown event ignored", "event_id", id)
		return nil
	}
	d.changed()
	return nil
}

// Flush writes every event's collected moves, events in id order so concurrent batches
// lock their rows in the same order.
func (d *SoldDeltas) Flush(ctx context.Context, tx bun.Tx) error {
	ids := make([]uuid.UUID, 0, len(d.by))
	for id := range d.by {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	w := store.WrapTx(tx)
	for _, id := range ids {
		if err := d.flushEvent(ctx, w, id); err != nil {
			return err
		}
	}
	return nil
}
