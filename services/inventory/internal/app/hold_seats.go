package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/inventory/internal/domain"
)

// HoldSeats places a buyer's hold: explicit seats, or the best available block of a
// section. It is all-or-nothing and respects the event's per-user seat limit.
func (s *Service) HoldSeats(ctx context.Context, userID string, spec domain.HoldSpec) (domain.Hold, error) {
	ev, err := s.Event(ctx, spec.EventID)
	if err != nil {
		return domain.Hold{}, err
	}
	if err := ev.CheckOnSale(s.Now()); err != nil {
		return domain.Hold{}, err
	}
	limit := ev.EffectiveHoldLimit(s.Cfg.Hold.MaxSeats)
	if spec.Count() > limit {
		field := "seat_ids"
		if spec.BestAvailable() {
			field = "quantity"
		}
		return domain.Hold{}, apperr.Validation(apperr.KindUnprocessable,
			apperr.FieldError{Field: field, Message: fmt.Sprintf("at most %d seats per user for this event", limit)})
	}
	layout, err := s.Layout(ctx, ev.ID)
	if err != nil {
		return domain.Hold{}, err
	}
	req := placement{ev: ev, layout: layout, userID: userID, purpose: domain.PurposeUser, ttl: s.Cfg.Hold.TTL, limit: limit}
	if !spec.BestAvailable() {
		return s.place(ctx, req, spec.SeatIDs)
	}
	return s.holdBestAvailable(ctx, req, spec)
}

// HoldForUser places a hold on a user's behalf for another service (the waitlist's offers).
// Offers respect the per-user limit like any hold: an offer is seats the user may buy, so
// it counts with their holds and purchases (422 hold_limit_exceeded above it).
func (s *Service) HoldForUser(ctx context.Context, eventID uuid.UUID, userID string, seatIDs []string, ttl time.Duration, purpose string) (domain.Hold, error) {
	ev, err := s.Event(ctx, eventID)
	if err != nil {
		return domain.Hold{}, err
	}
	if err := ev.CheckOnSale(s.Now()); err != nil {
		return domain.Hold{}, err
	}
	layout, err := s.Layout(ctx, ev.ID)
	if err != nil {
		return domain.Hold{}, err
	}
	limit := ev.EffectiveHoldLimit(s.Cfg.Hold.MaxSeats)
	return s.place(ctx, placement{ev: ev, layout: layout, userID: userID, purpose: purpose, ttl: ttl, limit: limit}, seatIDs)
}

type placement struct {
	ev      domain.Event
	layout  *Layout
	userID  string
	purpose string
	ttl     time.Duration
	limit   int
}

// place holds exactly seatIDs through the hold script.
func (s *Service) place(ctx context.Context, p placement, seatIDs []string) (domain.Hold, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Hold{}, err
	}
	h := domain.Hold{ID: id, EventID: p.ev.ID, UserID: p.userID, Purpose: p.purpose, Currency: p.ev.Currency,
		Seats: make([]domain.HeldSeat, 0, len(seatIDs))}
	var unknown []string
	for _, sid := range seatIDs {
		st, ok := p.layout.Seat(sid)
		if !ok {
			unknown = append(unknown, sid)
			continue
		}
		sec, _ := p.ev.Section(st.SectionID)
		h.Seats = append(h.Seats, domain.HeldSeat{SeatID: st.ID, SectionID: st.SectionID, Row: st.Row,
			Number: st.Number, Label: st.Label, Price: sec.Price})
		h.TotalAmount += sec.Price
	}
	if len(unknown) > 0 {
		return domain.Hold{}, domain.ErrSeatNotFound.WithDetail("unknown seats: %v", unknown).WithExtra("unknown_seat_ids", unknown)
	}
	for attempt := 0; ; attempt++ {
		res, err := s.Holds.Hold(ctx, h, p.ttl, p.limit)
		if err != nil {
			return domain.Hold{}, err
		}
		switch res.Outcome {
		case domain.Held:
			h.CreatedAt, h.ExpiresAt = res.CreatedAt, res.ExpiresAt
			s.note(h.EventID, h.SeatIDs(), stateHeld)
			s.announce(ctx, h.EventID, contracts.TypeHoldCreated, contracts.HoldCreated{HoldID: h.ID.String(),
				EventID: h.EventID.String(), UserID: h.UserID, SeatIDs: h.SeatIDs(), TotalAmount: h.TotalAmount,
				Currency: h.Currency, Purpose: h.Purpose, CreatedAt: h.CreatedAt, ExpiresAt: h.ExpiresAt})
			return h, nil
		case domain.Taken:
			return domain.Hold{}, domain.ErrSeatsTaken.WithDetail("seats already held or sold: %v", res.Taken).
				WithExtra("conflicting_seat_ids", res.Taken)
		case domain.OverLimit:
			return domain.Hold{}, domain.ErrHoldLimit.WithDetail("you already hold, have on offer or bought %d seats of this event; the limit is %d",
				res.AlreadyHeld, p.limit).WithExtra("limit", p.limit).WithExtra("held", res.AlreadyHeld)
		case domain.Closed:
			s.forget(p.ev.ID)
			return domain.Hold{}, domain.ErrNotOnSale.WithDetail("the event is cancelled")
		case domain.SoldUnknown:
			if attempt > 0 {
				return domain.Hold{}, errors.New("sold set still missing after rebuild")
			}
			if err := s.ensureSold(ctx, p.ev.ID); err != nil {
				return domain.Hold{}, err
			}
		}
	}
}

// holdBestAvailable picks seats from the event's view and holds them. Picked seats are
// marked held in the view at once, so concurrent buyers served by this replica pick
// different seats instead of racing for the same ones; seats the hold script refuses
// (taken through another replica, or since the view was read) are marked too before the
// next pick. The last retry reads the view afresh.
func (s *Service) holdBestAvailable(ctx context.Context, p placement, spec domain.HoldSpec) (domain.Hold, error) {
	if _, ok := p.ev.Section(spec.SectionID); !ok {
		return domain.Hold{}, domain.ErrSectionNotFound
	}
	runs := p.layout.runs[spec.SectionID]
	for attempt := 0; ; attempt++ {
		last := attempt >= s.Cfg.Hold.BestAvailableRetries
		v, err := s.freshView(ctx, p.layout, last && attempt > 0)
		if err != nil {
			return domain.Hold{}, err
		}
		ids := v.pick(p.layout, runs, spec)
		if ids == nil {
			detail := "no %d adjacent seats are available in this section"
			if spec.AllowSplit {
				detail = "fewer than %d seats are available in this section"
			}
			return domain.Hold{}, domain.ErrNotEnoughSeats.WithDetail(detail, spec.Quantity)
		}
		h, err := s.place(ctx, p, ids)
		if err == nil {
			return h, nil
		}
		var taken []string
		if ae, ok := apperr.As(err); ok && errors.Is(err, domain.ErrSeatsTaken) {
			taken, _ = ae.Extra["conflicting_seat_ids"].([]string)
		}
		// Unreserve what was not taken by someone else; keep the refused seats marked.
		v.mark(p.layout, ids, stateAvailable)
		v.mark(p.layout, taken, stateHeld)
		if errors.Is(err, domain.ErrSeatsTaken) && !last {
			continue
		}
		return h, err
	}
}

// pick chooses seats for spec from the view and marks them held there, under the view's
// lock so that two concurrent picks never choose the same seat. Only runs with a free seat
// are handed to the domain's pickers, and only up to the first run holding a block that
// strands no single seat: no later run can beat it (see domain.PickAdjacent), and copying
// every seat of a large section for each hold was a tenth of inventory's CPU in a rush.
func (v *view) pick(l *Layout, runs [][]int32, spec domain.HoldSpec) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var pick []domain.PickRun
	for i, run := range runs {
		free, clean := v.scan(run, spec.Quantity)
		if !free {
			continue
		}
		seats := make([]domain.PickSeat, len(run))
		for j, idx := range run {
			seats[j] = domain.PickSeat{ID: l.Seats[idx].ID, Free: v.status[idx] == stateAvailable}
		}
		pick = append(pick, domain.PickRun{Rank: i, Seats: seats})
		if clean {
			break
		}
	}
	ids := domain.PickAdjacent(pick, spec.Quantity)
	if ids == nil && spec.AllowSplit {
		// No early stop happened (a clean block would have been picked), so pick holds
		// every run with a free seat.
		ids = domain.PickSplit(pick, spec.Quantity)
	}
	for _, id := range ids {
		v.status[l.index[id]] = stateHeld
	}
	if len(ids) > 0 {
		v.gen = viewGen.Add(1)
	}
	return ids
}

// scan reports whether run has a free seat and whether it has a block of n free seats
// that leaves no single free seat beside it: a free stretch of exactly n, or of n+2 or
// more (the block placed at one end of it).
func (v *view) scan(run []int32, n int) (free, clean bool) {
	stretch := 0
	for _, idx := range run {
		if v.status[idx] == stateAvailable {
			stretch++
			free = true
			continue
		}
		if stretch == n || stretch >= n+2 {
			return true, true
		}
		stretch = 0
	}
	return free, stretch == n || stretch >= n+2
}

// announce records an analytics event (hold.created/released) for the outbox after the
// Redis change it reports. A hold lives only in Redis, so this cannot share a transaction
// with it: a crash before the row commits loses the event. That is accepted for these two
// types only — seats.sold and seats.released share the ledger's transaction, and
// hold.expired is claimed in Redis and acknowledged only after its outbox row commits.
// With the announcer running, rows are queued and written in batches (one transaction per
// batch instead of one fsync per hold); a full queue drops the event with a warning.
func (s *Service) announce(ctx context.Context, eventID uuid.UUID, typ string, payload any) {
	m := domain.Message{Key: eventID.String(), Type: typ, Payload: payload}
	if q := s.announcements.Load(); q != nil {
		select {
		case *q <- queued{ctx: context.WithoutCancel(ctx), m: m}:
		default:
			s.Log.WarnContext(ctx, "hold event queue full; event dropped", "type", typ, "event_id", eventID)
		}
		return
	}
	s.writeAnnouncements(context.WithoutCancel(ctx), []queued{{ctx: ctx, m: m}})
}

// queued is an announcement waiting for the announcer, with the context of the request
// that caused it (for its trace).
type queued struct {
	ctx context.Context
	m   domain.Message
}

// writeAnnouncements writes a batch of announcements in one statement, each with its
// request's trace.
func (s *Service) writeAnnouncements(ctx context.Context, batch []queued) {
	msgs := make([]domain.Message, len(batch))
	for i, q := range batch {
		msgs[i] = q.m
		msgs[i].Trace = kafka.TraceHeaders(q.ctx)
	}
	if err := s.Ledger.Publish(ctx, msgs...); err != nil {
		s.Log.WarnContext(ctx, "could not record hold events", "count", len(batch), "error", err)
	}
}

// RunAnnouncer writes queued hold.created/hold.released events in batches until ctx ends,
// then writes what is left.
func (s *Service) RunAnnouncer(ctx context.Context) error {
	q := make(chan queued, 10_000)
	s.announcements.Store(&q)
	const maxBatch = 500
	batch := make([]queued, 0, maxBatch)
	flush := func() {
		if len(batch) > 0 {
			s.writeAnnouncements(context.WithoutCancel(ctx), batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case <-ctx.Done():
			s.announcements.Store(nil)
			for {
				select {
				case x := <-q:
					batch = append(batch, x)
					if len(batch) == maxBatch {
						flush()
					}
				default:
					flush()
					return nil
				}
			}
		case x := <-q:
			batch = append(batch, x)
		drain:
			for len(batch) < maxBatch {
				select {
				case y := <-q:
					batch = append(batch, y)
				default:
					break drain
				}
			}
			flush()
		}
	}
}
