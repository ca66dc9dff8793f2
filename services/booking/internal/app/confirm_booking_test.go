package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
	"evently.dev/libs/contracts"

	"evently.dev/services/booking/internal/app"
	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/payment"
)

func TestIntegrationConfirmSuccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := newUser()
	ev := h.event(t, 72*time.Hour, nil)
	hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R1-S1": 2500, "A-R1-S2": 2500, "B-R1-S1": 1000})

	b, created, err := h.svc.ConfirmBooking(context.Background(), user, domain.ConfirmRequest{HoldID: hold.ID,
		EventID: ev, PaymentMethod: "card", IdempotencyKey: "k-1"})
	if err != nil || !created {
		t.Fatalf("confirm: created=%v err=%v", created, err)
	}
	if b.Status != domain.StatusConfirmed || b.EventID != ev || b.TotalAmount != 6000 || b.Currency != "EUR" ||
		len(b.Seats) != 3 || b.Version != 1 {
		t.Fatalf("unexpected booking %+v", b)
	}
	if b.Payment.Status != domain.PaymentCompleted || b.Payment.Amount != 6000 || b.Payment.Method != "card" ||
		b.Payment.Provider != "simulated" || b.Payment.TransactionID == "" {
		t.Fatalf("unexpected payment %+v", b.Payment)
	}
	if len(b.Ref) != len("EVT-20260101-ABCDEF") || b.Ref[:4] != "EVT-" || b.Ref[4:12] != h.clock.Format("20060102") {
		t.Fatalf("bad booking ref %q", b.Ref)
	}
	for _, s := range b.Seats {
		if h.inv.SoldTo(ev, s.SeatID) != b.ID.String() {
			t.Fatalf("seat %s not sold to the booking in the ledger", s.SeatID)
		}
	}

	// The same hold again (a second click): the same booking, not created.
	again, created, err := h.confirm(t, user, hold.ID)
	if err != nil || created || again.ID != b.ID || again.Status != domain.StatusConfirmed {
		t.Fatalf("repeat: id=%s created=%v err=%v", again.ID, created, err)
	}
	// The same Idempotency-Key for another hold is refused without selling anything.
	other := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"C-R1-S1": 100})
	_, _, err = h.svc.ConfirmBooking(context.Background(), user, domain.ConfirmRequest{HoldID: other.ID,
		PaymentMethod: "simulated", IdempotencyKey: "k-1"})
	if !errors.Is(err, domain.ErrIdempotencyKeyReused) {
		t.Fatalf("reused key: err=%v", err)
	}
	if h.inv.SoldTo(ev, "C-R1-S1") != "" {
		t.Fatal("a refused request sold a seat")
	}

	rows := h.outboxEvents(t, contracts.TypeBookingConfirmed)
	if len(rows) != 1 || rows[0].Key != ev.String() {
		t.Fatalf("want one booking.confirmed keyed by the event, got %d", len(rows))
	}
	var p contracts.BookingConfirmed
	if err := json.Unmarshal(rows[0].Payload, &p); err != nil || p.BookingID != b.ID.String() || p.TotalAmount != 6000 {
		t.Fatalf("payload %+v err %v", p, err)
	}
}

func TestIntegrationConfirmEventMismatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := newUser()
	hold := h.inv.AddHold(user, h.event(t, time.Hour, nil), time.Minute, map[string]int64{"A-R1-S1": 100})
	_, _, err := h.svc.ConfirmBooking(context.Background(), user, domain.ConfirmRequest{HoldID: hold.ID,
		EventID: uuid.Must(uuid.NewV7()), PaymentMethod: "simulated"})
	if !errors.Is(err, domain.ErrEventMismatch) {
		t.Fatalf("err = %v, want event mismatch", err)
	}
	if h.inv.CommitCount() != 0 || h.count(t, "SELECT count(*) FROM bookings") != 0 {
		t.Fatal("a mismatched request left a sale or a booking behind")
	}
}

var refPattern = regexp.MustCompile(`^EVT-[0-9]{8}-[A-Z0-9]{6}$`)

func TestIntegrationConfirmRefusedByInventory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	owner, stranger := newUser(), newUser()
	ev := h.event(t, time.Hour, nil)

	t.Run("expired hold fails with 409 and stays failed", func(t *testing.T) {
		hold := h.inv.AddHold(owner, ev, time.Minute, map[string]int64{"A-R1-S1": 100})
		h.inv.Expire(hold.ID)
		for range 2 {
			_, _, err := h.confirm(t, owner, hold.ID)
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindConflict || ae.Code != "hold_expired" {
				t.Fatalf("err = %v, want 409 hold_expired", err)
			}
		}
		b, ok, _ := h.store.BookingByHold(context.Background(), owner, hold.ID)
		if !ok || b.Status != domain.StatusFailed || b.Failure == nil || b.Failure.Code != "hold_expired" {
			t.Fatalf("booking %+v", b)
		}
		// A failed booking is a booking too: it has a reference (the API promises one).
		if !refPattern.MatchString(b.Ref) {
			t.Fatalf("failed booking's ref %q", b.Ref)
		}
	})

	t.Run("a foreign hold fails without locking its owner out", func(t *testing.T) {
		hold := h.inv.AddHold(owner, ev, time.Minute, map[string]int64{"A-R2-S1": 100})
		_, _, err := h.confirm(t, stranger, hold.ID)
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.KindConflict {
			t.Fatalf("stranger: err = %v, want 409", err)
		}
		b, created, err := h.confirm(t, owner, hold.ID)
		if err != nil || !created || b.Status != domain.StatusConfirmed || b.UserID != owner {
			t.Fatalf("owner after stranger: %+v %v", b, err)
		}
	})

	t.Run("seats already sold", func(t *testing.T) {
		first := h.inv.AddHold(owner, ev, time.Minute, map[string]int64{"A-R3-S1": 100})
		second := h.inv.AddHold(stranger, ev, time.Minute, map[string]int64{"A-R3-S1": 100})
		if _, _, err := h.confirm(t, owner, first.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err := h.confirm(t, stranger, second.ID)
		if ae, ok := apperr.As(err); !ok || ae.Code != "seats_unavailable" {
			t.Fatalf("err = %v, want seats_unavailable", err)
		}
	})
}

func TestIntegrationConfirmAfterLostAnswer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ev := h.event(t, time.Hour, nil)

	t.Run("inventory committed but the answer was lost: nothing stored, a retry writes the booking", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R1-S1": 700})
		h.inv.SetDropAnswer(true)
		_, _, err := h.confirm(t, user, hold.ID)
		h.inv.SetDropAnswer(false)
		if !errors.Is(err, domain.ErrInventoryUnavailable) {
			t.Fatalf("want 503 inventory_unavailable, got %v", err)
		}
		if n := h.count(t, "SELECT count(*) FROM bookings WHERE hold_id = ?", hold.ID); n != 0 {
			t.Fatalf("%d bookings stored for an unanswered commit", n)
		}
		sold := h.inv.SoldTo(ev, "A-R1-S1")
		b, created, err := h.confirm(t, user, hold.ID)
		if err != nil || !created || b.Status != domain.StatusConfirmed || b.ID.String() != sold || b.TotalAmount != 700 {
			t.Fatalf("retry: %+v created=%v err=%v (ledger sold to %s)", b, created, err, sold)
		}
		if n := len(h.outboxEvents(t, contracts.TypeBookingConfirmed)); n != 1 {
			t.Fatalf("%d booking.confirmed, want 1", n)
		}
	})

	t.Run("the process died after the commit: seats.sold writes the booking once, the request's retry finds it", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R2-S1": 300, "A-R2-S2": 300})
		h.inv.SetDropAnswer(true)
		_, _, err := h.confirm(t, user, hold.ID)
		h.inv.SetDropAnswer(false)
		if !errors.Is(err, domain.ErrInventoryUnavailable) {
			t.Fatalf("err = %v", err)
		}
		bookingID := uuid.MustParse(h.inv.SoldTo(ev, "A-R2-S1"))
		sale := domain.Commit{HoldID: hold.ID, BookingID: bookingID, EventID: ev, UserID: user, TotalAmount: 600,
			Currency: "EUR", Seats: []domain.Seat{{SeatID: "A-R2-S1", SectionID: "A", Price: 300},
				{SeatID: "A-R2-S2", SectionID: "A", Price: 300}}, CommittedAt: h.clock}
		// Noted as a consumer batch would (the fact twice in one batch), then redelivered
		// alone: nothing new is noted.
		if err := h.svc.RecordSales(context.Background(), h.store, []domain.Commit{sale, sale}); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.RecordSales(context.Background(), h.store, []domain.Commit{sale}); err != nil {
			t.Fatal(err)
		}
		if n := h.count(t, "SELECT count(*) FROM unbooked_sales"); n != 1 {
			t.Fatalf("%d noted sales, want 1", n)
		}
		// Within the grace period the request may still be writing: nothing is written.
		if n, err := h.svc.ReconcileSales(context.Background(), 5*time.Second, 10); err != nil || n != 0 {
			t.Fatalf("young sale reconciled: n=%d err=%v", n, err)
		}
		h.clock = h.clock.Add(6 * time.Second)
		for i, want := range []int{1, 0} {
			if n, err := h.svc.ReconcileSales(context.Background(), 5*time.Second, 10); err != nil || n != want {
				t.Fatalf("reconcile %d: wrote %d (want %d), err=%v", i, n, want, err)
			}
		}
		got, ok, _ := h.store.Booking(context.Background(), bookingID, false)
		if !ok || got.Status != domain.StatusConfirmed || got.TotalAmount != 600 || len(got.Seats) != 2 ||
			got.Payment.Status != domain.PaymentCompleted {
			t.Fatalf("booking from seats.sold: %+v", got)
		}
		b, created, err := h.confirm(t, user, hold.ID)
		if err != nil || created || b.ID != bookingID {
			t.Fatalf("client retry: id=%s created=%v err=%v", b.ID, created, err)
		}
		if n := h.count(t, "SELECT count(*) FROM bookings WHERE hold_id = ?", hold.ID); n != 1 {
			t.Fatalf("%d bookings of one hold", n)
		}
		if n := len(h.outboxEvents(t, contracts.TypeBookingConfirmed)); n != 2 {
			t.Fatalf("%d booking.confirmed in all, want 2 (one per booking)", n)
		}
	})

	t.Run("inventory down: 503, nothing stored, a retry of the request finishes it", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R4-S1": 300})
		h.inv.SetDown(true)
		_, _, err := h.confirm(t, user, hold.ID)
		h.inv.SetDown(false)
		if !errors.Is(err, domain.ErrInventoryUnavailable) {
			t.Fatalf("err = %v", err)
		}
		b, created, err := h.confirm(t, user, hold.ID)
		if err != nil || !created || b.Status != domain.StatusConfirmed {
			t.Fatalf("retry: %s created=%v err=%v", b.Status, created, err)
		}
	})
}

// TestIntegrationLegacyPendingIsReconciled covers bookings left PENDING by the earlier
// two-step saga: the reconciler still finishes them after an upgrade.
func TestIntegrationLegacyPendingIsReconciled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ev := h.event(t, time.Hour, nil)
	opts := app.ReconcileOptions{MinAge: 5 * time.Second, Batch: 10, Lease: 30 * time.Second}

	t.Run("hold still live", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R2-S1": 300})
		b := pendingRow(t, h, user, hold.ID)
		if n, err := h.svc.ReconcileOnce(context.Background(), opts); err != nil || n != 0 {
			t.Fatalf("young booking reconciled: n=%d err=%v", n, err)
		}
		h.clock = h.clock.Add(6 * time.Second)
		if _, err := h.svc.ReconcileOnce(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		got, _, _ := h.store.Booking(context.Background(), b.ID, false)
		if got.Status != domain.StatusConfirmed || h.inv.SoldTo(ev, "A-R2-S1") != b.ID.String() {
			t.Fatalf("after reconcile: %s", got.Status)
		}
		if len(h.outboxEvents(t, contracts.TypeBookingConfirmed)) != 1 {
			t.Fatal("reconciled booking announced nothing")
		}
	})

	t.Run("hold lapsed", func(t *testing.T) {
		user := newUser()
		hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R3-S1": 300})
		b := pendingRow(t, h, user, hold.ID)
		h.inv.Expire(hold.ID)
		h.clock = h.clock.Add(6 * time.Second)
		if _, err := h.svc.ReconcileOnce(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		got, _, _ := h.store.Booking(context.Background(), b.ID, false)
		if got.Status != domain.StatusFailed || h.inv.SoldTo(ev, "A-R3-S1") != "" {
			t.Fatalf("after reconcile: %s", got.Status)
		}
	})
}

// pendingRow stores a PENDING booking as if the process died right after inserting it.
func pendingRow(t *testing.T, h *harness, user string, hold uuid.UUID) domain.Booking {
	t.Helper()
	ref, _ := domain.NewBookingRef(h.clock)
	b := domain.Booking{ID: uuid.Must(uuid.NewV7()), Ref: ref, UserID: user, HoldID: hold,
		Status: domain.StatusPending, Version: 1, CreatedAt: h.clock, UpdatedAt: h.clock,
		Payment: domain.Payment{Provider: "simulated", Method: "simulated"}}
	if err := h.store.InsertBooking(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIntegrationConcurrentConfirmsOfOneHold(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := newUser()
	ev := h.event(t, time.Hour, nil)
	hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R1-S1": 100, "A-R1-S2": 100})
	const n = 16
	ids := make([]uuid.UUID, n)
	errs := make([]error, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			var b domain.Booking
			b, created[i], errs[i] = h.confirm(t, user, hold.ID)
			ids[i] = b.ID
		})
	}
	close(start)
	wg.Wait()
	firsts := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("confirm %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("two bookings for one hold: %s and %s", ids[0], ids[i])
		}
		if created[i] {
			firsts++
		}
	}
	if firsts != 1 {
		t.Fatalf("%d requests reported creating the booking, want 1", firsts)
	}
	if c := h.count(t, "SELECT count(*) FROM bookings"); c != 1 {
		t.Fatalf("%d bookings stored, want 1", c)
	}
	if c := len(h.outboxEvents(t, contracts.TypeBookingConfirmed)); c != 1 {
		t.Fatalf("%d booking.confirmed events, want 1", c)
	}
}

// TestIntegrationBatchedConfirmsWithACancelledEvent races confirmations so that they share
// transactions, some of them for an event that was cancelled meanwhile: a batch holding
// those rolls back and is written one by one (refunding them at once), and every hold
// still ends in exactly one booking with exactly one booking.confirmed.
func TestIntegrationBatchedConfirmsWithACancelledEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.svc = app.NewWith(h.store, h.svc.Inventory, &payment.Simulated{}, h.svc.Log, 64, 1)
	h.svc.Now = func() time.Time { return h.clock }
	var batched, fellBack atomic.Int32
	h.svc.OnWriteBatch = func(size int, fb bool) {
		if size > 1 {
			batched.Add(1)
		}
		if fb {
			fellBack.Add(1)
		}
	}
	live, gone := h.event(t, 72*time.Hour, nil), h.event(t, 72*time.Hour, nil)
	if err := h.store.MarkEventCancelled(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	type buyer struct {
		user string
		hold uuid.UUID
		ev   uuid.UUID
	}
	var buyers []buyer
	for i := range 60 {
		ev := live
		if i%10 == 3 {
			ev = gone
		}
		u := newUser()
		hold := h.inv.AddHold(u, ev, time.Minute, map[string]int64{fmt.Sprintf("A-R%d-S1", i): 100})
		buyers = append(buyers, buyer{user: u, hold: hold.ID, ev: ev})
	}
	got := make([]domain.Booking, len(buyers))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range buyers {
		wg.Go(func() {
			<-start
			bk, created, err := h.confirm(t, b.user, b.hold)
			if err != nil || !created {
				t.Errorf("confirm %d: created=%v err=%v", i, created, err)
			}
			got[i] = bk
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, b := range buyers {
		want := domain.StatusConfirmed
		if b.ev == gone {
			want = domain.StatusCancelled
		}
		stored, ok, _ := h.store.Booking(context.Background(), got[i].ID, false)
		if !ok || stored.Status != want || stored.HoldID != b.hold {
			t.Fatalf("buyer %d: stored %+v, want %s", i, stored, want)
		}
	}
	if batched.Load() == 0 {
		t.Fatal("no confirmations shared a transaction: the batch path was not exercised")
	}
	if fellBack.Load() == 0 {
		t.Fatal("a batch with a cancelled event did not fall back to one-by-one writes")
	}
	if n := h.count(t, "SELECT count(*) FROM bookings"); n != len(buyers) {
		t.Fatalf("%d bookings, want %d", n, len(buyers))
	}
	if n := len(h.outboxEvents(t, contracts.TypeBookingConfirmed)); n != len(buyers) {
		t.Fatalf("%d booking.confirmed, want %d", n, len(buyers))
	}
	if n := len(h.outboxEvents(t, contracts.TypeBookingCancelled)); n != 6 {
		t.Fatalf("%d booking.cancelled, want 6", n)
	}
}

// TestIntegrationReconcilerWritesFirst has the seats.sold reconciler write the booking
// between inventory's commit and the request's own write (a quick consumer under load):
// the request still answers its new booking as created, once, with its Idempotency-Key
// and payment method, and booking.confirmed is written once.
func TestIntegrationReconcilerWritesFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Nanoseconds PostgreSQL would round up: the noted sale must still count as sold at
	// the instant the reconciler compares with.
	h.clock = h.clock.Truncate(time.Microsecond).Add(999 * time.Nanosecond)
	user := newUser()
	ev := h.event(t, time.Hour, nil)
	hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"A-R1-S1": 900})
	h.inv.OnSale(func(holdID, bookingID uuid.UUID) {
		sale := domain.Commit{HoldID: holdID, BookingID: bookingID, EventID: ev, UserID: user, TotalAmount: 900,
			Currency: "EUR", Seats: []domain.Seat{{SeatID: "A-R1-S1", SectionID: "A", Price: 900}}, CommittedAt: h.clock}
		// A request slower than the grace period: the reconciler writes its booking first.
		if err := h.svc.RecordSales(context.Background(), h.store, []domain.Commit{sale}); err != nil {
			t.Error(err)
		}
		if n, err := h.svc.ReconcileSales(context.Background(), 0, 10); err != nil || n != 1 {
			t.Errorf("reconciler: wrote %d, err=%v", n, err)
		}
	})
	b, created, err := h.svc.ConfirmBooking(context.Background(), user, domain.ConfirmRequest{HoldID: hold.ID,
		PaymentMethod: "card", IdempotencyKey: "k-quick"})
	h.inv.OnSale(nil)
	if err != nil || !created || b.Status != domain.StatusConfirmed {
		t.Fatalf("confirm: created=%v status=%s err=%v", created, b.Status, err)
	}
	if b.IdempotencyKey != "k-quick" || b.Payment.Method != "card" {
		t.Fatalf("the request's details were not kept: key %q, method %q", b.IdempotencyKey, b.Payment.Method)
	}
	again, created, err := h.svc.ConfirmBooking(context.Background(), user, domain.ConfirmRequest{HoldID: hold.ID,
		PaymentMethod: "card", IdempotencyKey: "k-quick"})
	if err != nil || created || again.ID != b.ID {
		t.Fatalf("retry with the key: id=%s created=%v err=%v", again.ID, created, err)
	}
	if n := h.count(t, "SELECT count(*) FROM bookings"); n != 1 {
		t.Fatalf("%d bookings", n)
	}
	if n := len(h.outboxEvents(t, contracts.TypeBookingConfirmed)); n != 1 {
		t.Fatalf("%d booking.confirmed, want 1", n)
	}
}
