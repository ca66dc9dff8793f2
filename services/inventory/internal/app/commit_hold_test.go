package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/contracts"

	"evently.dev/services/inventory/internal/domain"
)

func TestCommitHoldSellsRecordsAndAnnounces(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ev := uuid.Must(uuid.NewV7())
	h := hold("u1", ev, now, "A-1-1", "A-1-2")
	ledger, holds := newFakeLedger("A-1-1", "A-1-2", "A-1-3"), newFakeHolds(h)
	s := newService(t, ledger, holds, now)
	booking := uuid.Must(uuid.NewV7())

	c, replayed, err := s.CommitHold(context.Background(), h.ID, booking, "u1", ev)
	if err != nil || replayed {
		t.Fatalf("commit: replayed %v, %v", replayed, err)
	}
	if c.BookingID != booking || c.HoldID != h.ID || c.TotalAmount != 2000 || !c.CommittedAt.Equal(now) {
		t.Fatalf("commit = %+v", c)
	}
	if ledger.seats["A-1-1"] != booking || ledger.seats["A-1-2"] != booking || ledger.seats["A-1-3"] != uuid.Nil {
		t.Fatalf("ledger seats = %v", ledger.seats)
	}
	if len(ledger.commits) != 1 || len(ledger.published) != 1 {
		t.Fatalf("%d commits, %d messages; want 1 each", len(ledger.commits), len(ledger.published))
	}
	m := ledger.published[0]
	p, ok := m.Payload.(contracts.SeatsSold)
	if m.Type != contracts.TypeSeatsSold || m.Key != ev.String() || !ok {
		t.Fatalf("message = %+v", m)
	}
	if p.SoldTotal != 2 || p.Capacity != 3 || len(p.Seats) != 2 || p.HoldID != h.ID.String() {
		t.Fatalf("seats.sold = %+v", p)
	}
	if len(holds.cleaned) != 1 || holds.cleaned[0] != h.ID {
		t.Fatalf("redis cleanup of %v, want the hold", holds.cleaned)
	}
}

func TestCommitHoldAnswersFromTheRecord(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ev := uuid.Must(uuid.NewV7())
	holdID, booking := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	recorded := domain.Commit{HoldID: holdID, BookingID: booking, EventID: ev, UserID: "u1", CommittedAt: now}
	cases := []struct {
		name      string
		record    *domain.Commit
		holdID    uuid.UUID
		bookingID uuid.UUID
		userID    string
		eventID   uuid.UUID
		replayed  bool
		err       error
	}{
		{name: "gone and never committed", holdID: holdID, bookingID: booking, userID: "u1", err: domain.ErrHoldExpired},
		{name: "retry of the same commit", record: &recorded, holdID: holdID, bookingID: booking, userID: "u1", replayed: true},
		{name: "second booking of the same buyer", record: &recorded, holdID: holdID, bookingID: uuid.Must(uuid.NewV7()),
			userID: "u1", replayed: true},
		{name: "hold sold to another buyer", record: &recorded, holdID: holdID, bookingID: uuid.Must(uuid.NewV7()),
			userID: "u2", err: domain.ErrHoldCommitted},
		{name: "booking used for another hold", record: &recorded, holdID: uuid.Must(uuid.NewV7()), bookingID: booking,
			userID: "u1", err: domain.ErrBookingUsed},
		{name: "recorded for another event", record: &recorded, holdID: holdID, bookingID: booking, userID: "u1",
			eventID: uuid.Must(uuid.NewV7()), err: domain.ErrEventMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ledger := newFakeLedger()
			if tc.record != nil {
				ledger.commits = append(ledger.commits, *tc.record)
			}
			s := newService(t, ledger, newFakeHolds(), now)
			c, replayed, err := s.CommitHold(context.Background(), tc.holdID, tc.bookingID, tc.userID, tc.eventID)
			if !errors.Is(err, tc.err) || replayed != tc.replayed {
				t.Fatalf("replayed %v, err %v; want %v, %v", replayed, err, tc.replayed, tc.err)
			}
			if tc.replayed && !reflect.DeepEqual(c, recorded) {
				t.Fatalf("answered %+v, want the record %+v", c, recorded)
			}
			if ledger.txs != 0 {
				t.Fatalf("%d ledger transactions for a hold gone from redis", ledger.txs)
			}
		})
	}
}

func TestCommitHoldRefusesAnotherEventsHold(t *testing.T) {
	now := time.Now().UTC()
	h := hold("u1", uuid.Must(uuid.NewV7()), now, "A-1-1")
	ledger := newFakeLedger("A-1-1")
	s := newService(t, ledger, newFakeHolds(h), now)
	_, _, err := s.CommitHold(context.Background(), h.ID, uuid.Must(uuid.NewV7()), "u1", uuid.Must(uuid.NewV7()))
	if !errors.Is(err, domain.ErrEventMismatch) {
		t.Fatalf("err = %v, want event mismatch", err)
	}
	if ledger.txs != 0 || ledger.seats["A-1-1"] != uuid.Nil {
		t.Fatal("the ledger was touched")
	}
}

// A seat the ledger no longer has AVAILABLE rolls the sale back: the buyer learns which
// seats were refused (not the ones the sale itself took before it failed), and nothing is
// recorded or announced.
func TestCommitHoldNamesTheSeatsTheLedgerRefused(t *testing.T) {
	now := time.Now().UTC()
	ev := uuid.Must(uuid.NewV7())
	h := hold("u1", ev, now, "A-1-1", "A-1-2")
	ledger := newFakeLedger("A-1-1", "A-1-2")
	ledger.seats["A-1-2"] = uuid.Must(uuid.NewV7()) // sold through a hold that raced its expiry
	holds := newFakeHolds(h)
	s := newService(t, ledger, holds, now)
	_, _, err := s.CommitHold(context.Background(), h.ID, uuid.Must(uuid.NewV7()), "u1", ev)
	if !errors.Is(err, domain.ErrSeatsTaken) {
		t.Fatalf("err = %v, want seats taken", err)
	}
	ae, _ := apperr.As(err)
	if got, _ := ae.Extra["conflicting_seat_ids"].([]string); !reflect.DeepEqual(got, []string{"A-1-2"}) {
		t.Fatalf("conflicting seats %v, want [A-1-2]", got)
	}
	if ledger.txs != 2 {
		t.Fatalf("%d transactions, want two: the batch of one, then the sale alone for the precise answer", ledger.txs)
	}
	if ledger.seats["A-1-1"] != uuid.Nil || len(ledger.commits) != 0 || len(ledger.published) != 0 {
		t.Fatal("a refused sale left writes behind")
	}
	if len(holds.cleaned) != 0 {
		t.Fatal("redis was told about a sale that did not happen")
	}
}

// A twin of the commit (a retry racing the first try) recorded it first: the store reports
// the clash as domain.ErrCommitClash and the buyer gets the recorded sale, as a replay.
func TestCommitHoldRacedByATwinAnswersItsRecord(t *testing.T) {
	now := time.Now().UTC()
	ev := uuid.Must(uuid.NewV7())
	h := hold("u1", ev, now, "A-1-1")
	booking := uuid.Must(uuid.NewV7())
	ledger := newFakeLedger("A-1-1")
	twin := domain.Commit{HoldID: h.ID, BookingID: booking, EventID: ev, UserID: "u1", Seats: h.Seats,
		TotalAmount: h.TotalAmount, Currency: "EUR", CommittedAt: now.Add(-time.Millisecond)}
	ledger.clashOnInsert = true
	s := newService(t, &twinAfterClash{fakeLedger: ledger, twin: twin}, newFakeHolds(h), now)
	c, replayed, err := s.CommitHold(context.Background(), h.ID, booking, "u1", ev)
	if err != nil || !replayed {
		t.Fatalf("replayed %v, err %v; want the twin's record", replayed, err)
	}
	if !reflect.DeepEqual(c, twin) {
		t.Fatalf("answered %+v, want %+v", c, twin)
	}
	if len(ledger.published) != 0 {
		t.Fatal("the loser of the race announced a sale")
	}
}

// twinAfterClash shows the twin's commit record once an insert has clashed with it, as
// PostgreSQL does once the twin's transaction has committed.
type twinAfterClash struct {
	*fakeLedger
	twin    domain.Commit
	clashed bool
}

func (l *twinAfterClash) InTx(ctx context.Context, fn func(ctx context.Context, l domain.Ledger) error) error {
	return l.fakeLedger.InTx(ctx, func(ctx context.Context, _ domain.Ledger) error { return fn(ctx, l) })
}

func (l *twinAfterClash) InsertCommit(ctx context.Context, c domain.Commit) error {
	l.clashed = true
	return l.fakeLedger.InsertCommit(ctx, c)
}

func (l *twinAfterClash) SellBatch(ctx context.Context, cs []domain.Commit) (int, map[uuid.UUID][]domain.SectionCount, error) {
	l.clashed = true
	return l.fakeLedger.SellBatch(ctx, cs)
}

func (l *twinAfterClash) FindCommit(ctx context.Context, holdID, bookingID uuid.UUID) (domain.Commit, bool, error) {
	if l.clashed {
		return l.twin, true, nil
	}
	return l.fakeLedger.FindCommit(ctx, holdID, bookingID)
}

func TestReleaseBookingAnnouncesTheReturn(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ev, booking := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	ledger := &returningLedger{fakeLedger: newFakeLedger(), rows: []domain.ReturnedSeat{
		{EventID: ev, SeatID: "A-1-2", SectionID: "A", Status: domain.SeatAvailable, Price: 1000},
		{EventID: ev, SeatID: "A-1-1", SectionID: "A", Status: domain.SeatAvailable, Price: 1000}}}
	holds := &unsoldHolds{fakeHolds: newFakeHolds()}
	s := newService(t, ledger, holds, now)
	res, changed, err := s.ReleaseBooking(context.Background(), booking)
	if err != nil || !changed {
		t.Fatalf("release: changed %v, %v", changed, err)
	}
	if !reflect.DeepEqual(res.SeatIDs, []string{"A-1-1", "A-1-2"}) || res.Closed || res.UserID != "u1" {
		t.Fatalf("returned %+v", res)
	}
	if len(ledger.published) != 1 || ledger.published[0].Type != contracts.TypeSeatsReleased {
		t.Fatalf("published %+v", ledger.published)
	}
	raw, _ := json.Marshal(ledger.published[0].Payload)
	var p contracts.SeatsReleased
	if err := json.Unmarshal(raw, &p); err != nil || p.Reason != contracts.ReleaseBookingCancelled || len(p.Seats) != 2 {
		t.Fatalf("seats.released = %s (%v)", raw, err)
	}
	if !reflect.DeepEqual(holds.unsold, []string{"A-1-1", "A-1-2"}) || !reflect.DeepEqual(holds.forgot, []string{"A-1-1", "A-1-2"}) {
		t.Fatalf("redis: unsold %v, forgot %v", holds.unsold, holds.forgot)
	}
	// The ledger's update happens once: a repeat finds no SOLD seats and changes nothing.
	ledger.rows = nil
	if _, changed, err := s.ReleaseBooking(context.Background(), booking); err != nil || changed {
		t.Fatalf("repeat: changed %v, %v", changed, err)
	}
	if len(ledger.published) != 1 {
		t.Fatal("a repeated release announced again")
	}
}

// returningLedger answers a booking's SOLD seats once.
type returningLedger struct {
	*fakeLedger
	rows []domain.ReturnedSeat
}

func (l *returningLedger) InTx(ctx context.Context, fn func(ctx context.Context, l domain.Ledger) error) error {
	return l.fakeLedger.InTx(ctx, func(ctx context.Context, _ domain.Ledger) error { return fn(ctx, l) })
}

func (l *returningLedger) ReturnBookingSeats(context.Context, uuid.UUID) ([]domain.ReturnedSeat, error) {
	return l.rows, nil
}

func (l *returningLedger) BookingBuyer(context.Context, uuid.UUID) (string, error) { return "u1", nil }

// unsoldHolds records what went back on sale in Redis.
type unsoldHolds struct {
	*fakeHolds
	unsold, forgot []string
}

func (h *unsoldHolds) Unsold(_ context.Context, _ uuid.UUID, c domain.Change) error {
	h.unsold = append(h.unsold, c.SeatIDs...)
	return nil
}

func (h *unsoldHolds) ForgetBought(_ context.Context, _ uuid.UUID, _ string, ids []string) error {
	h.forgot = append(h.forgot, ids...)
	return nil
}
