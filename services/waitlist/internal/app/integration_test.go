package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/contracts"

	"evently.dev/services/waitlist/internal/app"
	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/inventory"
	"evently.dev/services/waitlist/internal/store"
	"evently.dev/services/waitlist/internal/waitlisttest"
)

func newService(db *bun.DB, inv *waitlisttest.Inventory) *app.Service {
	return app.New(&store.Store{DB: db}, inventory.New(inventory.Options{BaseURL: inv.URL,
		Secret: waitlisttest.Secret, Timeout: 5 * time.Second}),
		app.Options{OfferWindow: time.Minute}, slog.New(slog.DiscardHandler))
}

func join(t *testing.T, svc *app.Service, eventID uuid.UUID, user string, qty int, section string) domain.Entry {
	t.Helper()
	e, err := svc.JoinWaitlist(context.Background(), user, domain.JoinSpec{EventID: eventID, Quantity: qty, SectionID: section})
	if err != nil {
		t.Fatalf("join %s: %v", user, err)
	}
	return e
}

func count(t *testing.T, db *bun.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.NewRaw(q, args...).Scan(context.Background(), &n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Two round runners (two service instances sharing only the database, as two replicas
// would) race offer rounds for one event again and again. The stand-in inventory refuses
// any seat already held; because rounds are serialised per event and each reads the seat
// map afresh, it must never even be asked for one, and no seat is offered twice.
func TestIntegrationConcurrentRoundsNeverOfferASeatTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := waitlisttest.DB(t)
	secA, secB := uuid.NewString(), uuid.NewString()
	inv := waitlisttest.NewInventory(t, []string{secA, secB}, 3, 5) // 30 seats, all sold
	one, two := newService(db, inv), newService(db, inv)

	var entries []domain.Entry
	for i := range 24 {
		section := ""
		if i%4 == 3 {
			section = secB
		}
		entries = append(entries, join(t, one, inv.EventID, fmt.Sprintf("user-%02d", i), 1+i%3, section))
	}
	if entries[0].Position != 1 || entries[23].Position != 24 {
		t.Fatalf("positions %d..%d, want 1..24", entries[0].Position, entries[23].Position)
	}
	if _, err := two.JoinWaitlist(ctx, "user-00", domain.JoinSpec{EventID: inv.EventID, Quantity: 1}); !errors.Is(err, domain.ErrAlreadyWaiting) {
		t.Fatalf("second join: %v, want already waiting", err)
	}

	// Seats come back in waves while both runners race rounds.
	var all []string
	for _, s := range inv.Snapshot() {
		all = append(all, s.ID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for wave := 0; wave < 3; wave++ {
		inv.Release(all[wave*10 : wave*10+10]...)
		for _, svc := range []*app.Service{one, two, one, two} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.OfferToNextInLine(ctx, inv.EventID); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Fatalf("round: %v", err)
	}

	inv2 := inv.Snapshot()
	holds := inv.Granted()
	if inv.Conflicts() != 0 {
		t.Fatalf("inventory was asked %d times for seats another offer already held", inv.Conflicts())
	}
	// Every offered entry's seats are exactly one granted hold of that user; no seat twice.
	rows, err := store.New(db).LiveEntries(ctx, inv.EventID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	offered := 0
	for _, e := range rows {
		if e.Status != domain.StatusOffered {
			continue
		}
		offered++
		granted := holds[e.Offer.HoldID]
		if len(granted.Seats) != e.Quantity || granted.UserID != e.UserID {
			t.Fatalf("entry %s offered %v under a hold of %q", e.UserID, e.Offer.SeatIDs, granted.UserID)
		}
		for _, s := range e.Offer.SeatIDs {
			if prev, dup := seen[s]; dup {
				t.Fatalf("seat %s offered to %s and %s", s, prev, e.UserID)
			}
			seen[s] = e.UserID
			if e.SectionID != "" {
				for _, st := range inv2 {
					if st.ID == s && st.SectionID != e.SectionID {
						t.Fatalf("entry for section %s offered seat %s of %s", e.SectionID, s, st.SectionID)
					}
				}
			}
		}
	}
	if offered == 0 || len(holds) != offered {
		t.Fatalf("%d offers recorded, %d holds granted", offered, len(holds))
	}
	// Each offer wrote its email and its waitlist.offered event in the same transaction.
	if n := count(t, db, "SELECT count(*) FROM notifications WHERE kind = 'waitlist_offer'"); n != offered {
		t.Fatalf("%d offer emails for %d offers", n, offered)
	}
	if n := count(t, db, "SELECT count(*) FROM outbox WHERE type = ?", contracts.TypeWaitlistOffered); n != offered {
		t.Fatalf("%d waitlist.offered events for %d offers", n, offered)
	}
	// FIFO: the first entry (quantity 1, any section) got the first seats to come back.
	if first := rows[0]; first.UserID != "user-00" || first.Status != domain.StatusOffered {
		t.Fatalf("head of the queue not offered: %+v", first)
	}
}

// The consumer-side reactions: a lapsed offer hold expires the entry, emails the user and
// requests a round; a booking of an offer's hold converts it; event cancellation ends
// everything; each applied twice has one effect.
func TestIntegrationOfferLifecycleFromEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := waitlisttest.DB(t)
	inv := waitlisttest.NewInventory(t, []string{uuid.NewString()}, 1, 4)
	svc := newService(db, inv)
	st := &store.Store{DB: db}
	apply := func(fn func(ctx context.Context, r domain.Repository) error) {
		t.Helper()
		for range 2 { // a redelivered fact must not double its effect
			if err := st.InTx(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
	}
	apply(func(ctx context.Context, r domain.Repository) error {
		return svc.UserRegistered(ctx, r, contracts.UserRegistered{UserID: "u1", Email: "u1@example.com", FirstName: "Uma"})
	})
	apply(func(ctx context.Context, r domain.Repository) error {
		return svc.EventPublished(ctx, r, contracts.EventPublished{EventID: inv.EventID.String(), Name: "Gig", StartsAt: time.Now().Add(48 * time.Hour), Currency: "EUR", Version: 1})
	})
	a := join(t, svc, inv.EventID, "u1", 2, "")
	b := join(t, svc, inv.EventID, "u2", 2, "")
	c := join(t, svc, inv.EventID, "u3", 1, "")
	seats := inv.Snapshot()
	inv.Release(seats[0].ID, seats[1].ID)
	made, err := svc.OfferToNextInLine(ctx, inv.EventID)
	if err != nil || len(made) != 1 || made[0].EntryID != a.ID {
		t.Fatalf("offers %+v, %v; want one to the head", made, err)
	}
	hold := made[0].HoldID.String()

	// The offer lapses: EXPIRED, email, waitlist.expired, round requested (u2 waits).
	apply(func(ctx context.Context, r domain.Repository) error {
		return svc.HoldExpired(ctx, r, contracts.HoldExpired{HoldID: hold, EventID: inv.EventID.String(), UserID: "u1",
			SeatIDs: made[0].SeatIDs, Purpose: contracts.HoldPurposeWaitlistOffer, ExpiredAt: time.Now()})
	})
	if e, _ := svc.WaitlistStatus(ctx, "u1", inv.EventID); e.Status != domain.StatusExpired || e.Position != 0 {
		t.Fatalf("after lapse: %+v", e)
	}
	if n := count(t, db, "SELECT count(*) FROM notifications WHERE kind = 'waitlist_offer_expired' AND user_id = 'u1'"); n != 1 {
		t.Fatalf("%d offer-expired emails", n)
	}
	// The email is addressed from the read models: the user's name and the event's.
	var body string
	if err := db.QueryRowContext(ctx, "SELECT body_text FROM notifications WHERE kind = 'waitlist_offer_expired' AND user_id = 'u1'").
		Scan(&body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "Uma") || !strings.Contains(body, "Gig") {
		t.Fatalf("offer-expired email does not name the user and the event:\n%s", body)
	}
	if n := count(t, db, "SELECT count(*) FROM outbox WHERE type = ?", contracts.TypeWaitlistExpired); n != 1 {
		t.Fatalf("%d waitlist.expired events", n)
	}
	if n := count(t, db, "SELECT count(*) FROM offer_rounds WHERE event_id = ?", inv.EventID); n != 1 {
		t.Fatal("no round requested after the lapse")
	}
	// The worker's round offers the lapsed seats to the next fitting entry (u2 wants 2).
	inv.Release(made[0].SeatIDs...)
	if err := svc.RoundsOnce(ctx); err != nil {
		t.Fatal(err)
	}
	e2, _ := svc.WaitlistStatus(ctx, "u2", inv.EventID)
	if e2.Status != domain.StatusOffered || e2.Offer == nil || len(e2.Offer.SeatIDs) != 2 {
		t.Fatalf("u2 after the round: %+v", e2)
	}
	if n := count(t, db, "SELECT count(*) FROM offer_rounds"); n != 0 {
		t.Fatal("served round request left behind")
	}
	// u2 books the offer in a batch with other buyers' bookings (as a rush's consumer
	// batch applies them): CONVERTED with the booking id, and one booking email each.
	booking := uuid.NewString()
	batch := []contracts.BookingConfirmed{{BookingID: booking, BookingRef: "EVT-1", EventID: inv.EventID.String(),
		UserID: "u2", HoldID: e2.Offer.HoldID.String(), TotalAmount: 3000, Currency: "EUR", ConfirmedAt: time.Now()}}
	for i := range 3 {
		batch = append(batch, contracts.BookingConfirmed{BookingID: uuid.NewString(), BookingRef: fmt.Sprintf("EVT-%d", i+2),
			EventID: inv.EventID.String(), UserID: fmt.Sprintf("buyer%d", i), HoldID: uuid.NewString(), TotalAmount: 1500,
			Currency: "EUR", ConfirmedAt: time.Now()})
	}
	batch[1], batch[0] = batch[0], batch[1] // the offer is not first
	apply(func(ctx context.Context, r domain.Repository) error { return svc.BookingsConfirmed(ctx, r, batch) })
	if n := count(t, db, "SELECT count(*) FROM notifications WHERE kind = 'booking_confirmed'"); n != len(batch) {
		t.Fatalf("%d booking emails for %d bookings", n, len(batch))
	}
	if e, _ := svc.WaitlistStatus(ctx, "u2", inv.EventID); e.Status != domain.StatusConverted || e.BookingID == nil || e.BookingID.String() != booking {
		t.Fatalf("u2 after booking: %+v", e)
	}
	if n := count(t, db, "SELECT count(*) FROM outbox WHERE type = ?", contracts.TypeWaitlistConverted); n != 1 {
		t.Fatalf("%d waitlist.converted events", n)
	}
	// u3 still waits at position 1; the event is cancelled: CANCELLED, emailed, waitlist.left.
	if e, _ := svc.WaitlistStatus(ctx, "u3", inv.EventID); e.Status != domain.StatusWaiting || e.Position != 1 || e.ID != c.ID {
		t.Fatalf("u3: %+v", e)
	}
	apply(func(ctx context.Context, r domain.Repository) error {
		return svc.EventCancelled(ctx, r, contracts.EventCancelled{EventID: inv.EventID.String(), CancelledAt: time.Now()})
	})
	if e, _ := svc.WaitlistStatus(ctx, "u3", inv.EventID); e.Status != domain.StatusCancelled || e.EndReason != domain.EndEventCancelled {
		t.Fatalf("u3 after cancel: %+v", e)
	}
	if n := count(t, db, "SELECT count(*) FROM notifications WHERE kind = 'event_cancelled'"); n != 1 {
		t.Fatalf("%d event-cancelled emails", n)
	}
	if _, err := svc.JoinWaitlist(ctx, "u4", domain.JoinSpec{EventID: inv.EventID, Quantity: 1}); !errors.Is(err, domain.ErrEventClosed) {
		t.Fatalf("join a cancelled event: %v", err)
	}
	stats, err := svc.Stats(ctx, inv.EventID)
	if err != nil || stats.OffersMade != 2 || stats.ByStatus[domain.StatusConverted] != 1 || stats.ConversionRate != 0.5 || stats.MedianWait == nil {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	_ = b
}

// Joining needs the request to be unservable now, and leaving releases an open offer.
func TestIntegrationJoinRulesAndLeave(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := waitlisttest.DB(t)
	sec := uuid.NewString()
	inv := waitlisttest.NewInventory(t, []string{sec}, 1, 4)
	svc := newService(db, inv)
	seats := inv.Snapshot()
	inv.Release(seats[0].ID)

	cases := []struct {
		name string
		spec domain.JoinSpec
		want error
	}{
		{"one seat is available", domain.JoinSpec{EventID: inv.EventID, Quantity: 1}, domain.ErrSeatsAvailable},
		{"unknown section", domain.JoinSpec{EventID: inv.EventID, Quantity: 2, SectionID: uuid.NewString()}, domain.ErrSectionNotFound},
		{"unknown event", domain.JoinSpec{EventID: uuid.New(), Quantity: 1}, domain.ErrEventNotFound},
	}
	for _, tt := range cases {
		if _, err := svc.JoinWaitlist(ctx, "u1", tt.spec); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	join(t, svc, inv.EventID, "u1", 2, sec) // two do not fit in one free seat
	if err := svc.LeaveWaitlist(ctx, "u2", inv.EventID); !errors.Is(err, domain.ErrNotWaiting) {
		t.Fatalf("leave without entry: %v", err)
	}
	inv.Release(seats[1].ID)
	made, err := svc.OfferToNextInLine(ctx, inv.EventID)
	if err != nil || len(made) != 1 {
		t.Fatalf("offer: %+v %v", made, err)
	}
	if err := svc.LeaveWaitlist(ctx, "u1", inv.EventID); err != nil {
		t.Fatal(err)
	}
	for _, s := range inv.Snapshot()[:2] {
		if s.Status != "AVAILABLE" {
			t.Fatalf("left offer's seat %s is %s, want released", s.ID, s.Status)
		}
	}
	if e, _ := svc.WaitlistStatus(ctx, "u1", inv.EventID); e.Status != domain.StatusCancelled || e.EndReason != domain.EndUserLeft {
		t.Fatalf("after leaving: %+v", e)
	}
	if err := svc.LeaveWaitlist(ctx, "u1", inv.EventID); !errors.Is(err, domain.ErrNotWaiting) {
		t.Fatalf("leave twice: %v", err)
	}
	// The user may join again: a new entry at the back.
	join(t, svc, inv.EventID, "u1", 3, "")
}

// TestIntegrationOfferOverUserLimitIsPassedOver checks that an entry inventory refuses for
// the per-user limit keeps its place without stopping the round: the next entry that
// fits is offered the seats.
func TestIntegrationOfferOverUserLimitIsPassedOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := waitlisttest.DB(t)
	sec := uuid.NewString()
	inv := waitlisttest.NewInventory(t, []string{sec}, 1, 5)
	inv.SetLimit(2)
	svc := newService(db, inv)
	first := join(t, svc, inv.EventID, "greedy", 3, "")
	join(t, svc, inv.EventID, "modest", 2, "")
	var all []string
	for _, s := range inv.Snapshot() {
		all = append(all, s.ID)
	}
	inv.Release(all...)
	made, err := svc.OfferToNextInLine(ctx, inv.EventID)
	if err != nil {
		t.Fatalf("round failed on an over-limit entry: %v", err)
	}
	if len(made) != 1 || made[0].UserID != "modest" || len(made[0].SeatIDs) != 2 {
		t.Fatalf("offers made %+v, want one of 2 seats to modest", made)
	}
	if n := count(t, db, `SELECT count(*) FROM entries WHERE id = ? AND status = 'WAITING'`, first.ID); n != 1 {
		t.Fatal("the over-limit entry lost its place")
	}
}
