package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts"

	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/domain/refund"
)

func TestIntegrationCancelUnderPolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	tiered := &refund.Policy{Version: 2, AllowCancellation: true, FeeType: refund.FeeFixed, FeeAmount: 500,
		Tiers: []refund.Tier{{HoursBefore: 168, Percent: 100}, {HoursBefore: 48, Percent: 50}}}
	cases := []struct {
		name     string
		policy   *refund.Policy
		startsIn time.Duration
		refund   int64
		fee      int64
		version  int
		payment  string
		err      error
	}{
		{"no policy: full refund", nil, 10 * time.Hour, 10000, 0, 0, domain.PaymentRefunded, nil},
		{"top tier minus fixed fee", tiered, 200 * time.Hour, 9500, 500, 2, domain.PaymentPartiallyRefunded, nil},
		{"middle tier minus fixed fee", tiered, 60 * time.Hour, 4500, 500, 2, domain.PaymentPartiallyRefunded, nil},
		{"no tier reached: nothing back", tiered, 10 * time.Hour, 0, 0, 2, domain.PaymentCompleted, nil},
		{"not allowed", &refund.Policy{Version: 1}, 100 * time.Hour, 0, 0, 0, "", refund.ErrNotAllowed},
		{"after the deadline", &refund.Policy{Version: 1, AllowCancellation: true,
			Deadline: ptr(time.Now().Add(-time.Minute))}, 100 * time.Hour, 0, 0, 0, "", refund.ErrDeadlinePassed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user := newUser()
			ev := h.event(t, c.startsIn, c.policy)
			b := h.mustConfirm(t, user, ev, map[string]int64{"A-R1-S1": 6000, "A-R1-S2": 4000})
			owner := assertion.Identity{UserID: user, Role: assertion.RoleUser}
			got, cn, err := h.svc.CancelBooking(ctx, owner, b.ID, "plans changed")
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != domain.StatusCancelled || got.Version != 2 || got.CancelledAt == nil {
				t.Fatalf("booking %+v", got)
			}
			if cn.Status != domain.CancellationProcessed || cn.Refund != c.refund || cn.Fee != c.fee ||
				cn.PolicyVersion != c.version || cn.Reason != "plans changed" || cn.ProcessedAt == nil {
				t.Fatalf("cancellation %+v", cn)
			}
			if got.Payment.Status != c.payment || got.Payment.RefundAmount == nil || *got.Payment.RefundAmount != c.refund {
				t.Fatalf("payment %+v", got.Payment)
			}
			stored, _, _ := h.store.Booking(ctx, b.ID, false)
			if stored.Status != domain.StatusCancelled || stored.Version != 2 {
				t.Fatalf("stored %+v", stored)
			}
			// A second cancel is a conflict.
			if _, _, err := h.svc.CancelBooking(ctx, owner, b.ID, ""); !errors.Is(err, domain.ErrAlreadyCancelled) {
				t.Fatalf("second cancel: %v", err)
			}
			var found bool
			for _, r := range h.outboxEvents(t, contracts.TypeBookingCancelled) {
				var p contracts.BookingCancelled
				_ = json.Unmarshal(r.Payload, &p)
				if p.BookingID == b.ID.String() {
					found = true
					if len(p.SeatIDs) != 2 || p.RefundAmount != c.refund || p.Reason != contracts.CancelByUser {
						t.Fatalf("booking.cancelled %+v", p)
					}
				}
			}
			if !found {
				t.Fatal("no booking.cancelled in the outbox")
			}
		})
	}
}

func TestIntegrationCancelAccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	user := newUser()
	b := h.mustConfirm(t, user, h.event(t, 100*time.Hour, nil), map[string]int64{"A-R1-S1": 100})
	other := assertion.Identity{UserID: newUser(), Role: assertion.RoleUser}
	if _, _, err := h.svc.CancelBooking(ctx, other, b.ID, ""); !errors.Is(err, domain.ErrBookingNotFound) {
		t.Fatalf("stranger cancel: %v", err)
	}
	if _, err := h.svc.GetBooking(ctx, other, b.ID); !errors.Is(err, domain.ErrBookingNotFound) {
		t.Fatalf("stranger read: %v", err)
	}
	admin := assertion.Identity{UserID: newUser(), Role: assertion.RoleAdmin}
	if _, err := h.svc.GetBooking(ctx, admin, b.ID); err != nil {
		t.Fatalf("admin read: %v", err)
	}
	if _, _, err := h.svc.CancelBooking(ctx, assertion.Identity{UserID: user}, uuid.Must(uuid.NewV7()), ""); !errors.Is(err, domain.ErrBookingNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestIntegrationCancellationApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	p := &refund.Policy{Version: 1, AllowCancellation: true, RequiresApproval: true, FeeType: refund.FeePercentage,
		FeeAmount: 10}
	ev := h.event(t, 100*time.Hour, p)
	admin := assertion.Identity{UserID: newUser(), Role: assertion.RoleAdmin}

	user := newUser()
	owner := assertion.Identity{UserID: user, Role: assertion.RoleUser}
	b := h.mustConfirm(t, user, ev, map[string]int64{"A-R1-S1": 5000})
	if _, _, err := h.svc.CancelBooking(ctx, owner, b.ID, ""); !errors.Is(err, domain.ErrApprovalRequired) {
		t.Fatalf("cancel needing approval: %v", err)
	}
	got, req, err := h.svc.RequestCancellation(ctx, owner, b.ID, "ill")
	if err != nil || req.Status != domain.CancellationPending || got.Status != domain.StatusConfirmed ||
		req.Refund != 4500 || req.Fee != 500 {
		t.Fatalf("request: %+v %+v %v", got, req, err)
	}
	if _, _, err := h.svc.RequestCancellation(ctx, owner, b.ID, "again"); !errors.Is(err, domain.ErrCancellationOpen) {
		t.Fatalf("second request: %v", err)
	}
	// The policy changes after the request: approval still applies what was judged then.
	if err := h.store.SavePolicy(ctx, domain.Event{ID: ev, PolicyVersion: 2, Policy: &refund.Policy{Version: 2}}); err != nil {
		t.Fatal(err)
	}
	got, done, err := h.svc.ApproveCancellation(ctx, admin, req.ID, "ok")
	if err != nil || done.Status != domain.CancellationProcessed || got.Status != domain.StatusCancelled ||
		done.Refund != 4500 || done.PolicyVersion != 1 || done.DecidedBy != admin.UserID {
		t.Fatalf("approve: %+v %+v %v", got, done, err)
	}
	if _, _, err := h.svc.ApproveCancellation(ctx, admin, req.ID, ""); !errors.Is(err, domain.ErrNotPending) {
		t.Fatalf("approve twice: %v", err)
	}

	// Rejection leaves the booking confirmed; a new request is possible afterwards.
	user2 := newUser()
	owner2 := assertion.Identity{UserID: user2, Role: assertion.RoleUser}
	p3 := &refund.Policy{Version: 3, AllowCancellation: true, RequiresApproval: true}
	if err := h.store.SavePolicy(ctx, domain.Event{ID: ev, PolicyVersion: 3, Policy: p3}); err != nil {
		t.Fatal(err)
	}
	b2 := h.mustConfirm(t, user2, ev, map[string]int64{"A-R2-S1": 5000})
	_, req2, err := h.svc.RequestCancellation(ctx, owner2, b2.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	got, rej, err := h.svc.RejectCancellation(ctx, admin, req2.ID, "no")
	if err != nil || rej.Status != domain.CancellationRejected || got.Status != domain.StatusConfirmed {
		t.Fatalf("reject: %+v %+v %v", got, rej, err)
	}
	if _, _, err := h.svc.RequestCancellation(ctx, owner2, b2.ID, "please"); err != nil {
		t.Fatalf("request after rejection: %v", err)
	}
	mine, total, err := h.svc.ListCancellations(ctx, domain.CancellationFilter{UserID: user2, Limit: 10})
	if err != nil || total != 2 || len(mine) != 2 || mine[0].Status != domain.CancellationPending {
		t.Fatalf("list: %d %v", total, err)
	}
}

func TestIntegrationEventCancelledRefundsEveryBooking(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	ev := h.event(t, 100*time.Hour, &refund.Policy{Version: 1, AllowCancellation: true, RequiresApproval: true,
		Tiers: []refund.Tier{{HoursBefore: 1000, Percent: 100}}})
	var ids []uuid.UUID
	for i := range 5 {
		b := h.mustConfirm(t, newUser(), ev, map[string]int64{string(rune('A'+i)) + "-R1-S1": 1000})
		ids = append(ids, b.ID)
	}
	// One of them has a pending request: it is superseded.
	pendingOwner := assertion.Identity{UserID: mustBooking(t, h, ids[0]).UserID, Role: assertion.RoleUser}
	_, pending, err := h.svc.RequestCancellation(ctx, pendingOwner, ids[0], "")
	if err != nil {
		t.Fatal(err)
	}
	err = h.store.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		n, err := h.svc.CancelEvent(ctx, r, ev, "")
		if err == nil && n != 5 {
			t.Errorf("cancelled %d bookings, want 5", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		b := mustBooking(t, h, id)
		if b.Status != domain.StatusCancelled || b.Payment.Status != domain.PaymentRefunded || *b.Payment.RefundAmount != 1000 {
			t.Fatalf("booking %s: %s %+v", id, b.Status, b.Payment)
		}
	}
	if c, _, _ := h.store.Cancellation(ctx, pending.ID, false); c.Status != domain.CancellationRejected {
		t.Fatalf("pending request is %s", c.Status)
	}
	if n := len(h.outboxEvents(t, contracts.TypeBookingCancelled)); n != 5 {
		t.Fatalf("%d booking.cancelled events, want 5", n)
	}
	// A confirm whose commit lands after the cancellation is refunded at once.
	user := newUser()
	late := h.mustConfirmAllowCancelled(t, user, ev)
	if late.Status != domain.StatusCancelled {
		t.Fatalf("late booking is %s", late.Status)
	}
}

func (h *harness) mustConfirmAllowCancelled(t *testing.T, user string, ev uuid.UUID) domain.Booking {
	t.Helper()
	hold := h.inv.AddHold(user, ev, time.Minute, map[string]int64{"Z-R1-S1": 100})
	if _, _, err := h.confirm(t, user, hold.ID); err != nil {
		t.Fatal(err)
	}
	b, _, _ := h.store.BookingByHold(context.Background(), user, hold.ID)
	return b
}

func mustBooking(t *testing.T, h *harness, id uuid.UUID) domain.Booking {
	t.Helper()
	b, ok, err := h.store.Booking(context.Background(), id, false)
	if err != nil || !ok {
		t.Fatalf("booking %s: %v", id, err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

// TestIntegrationCancelUsesPolicyAtPurchase checks that a cancellation is judged under the
// policy version in force when the booking was confirmed, whatever changed since: a later
// stricter policy (no cancellation, approval required) does not reach earlier bookings,
// and a booking confirmed after the change gets the new one.
func TestIntegrationCancelUsesPolicyAtPurchase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	open := &refund.Policy{Version: 1, AllowCancellation: true}
	ev := h.event(t, 100*time.Hour, open)
	early, earlyNoApproval := newUser(), newUser()
	before := h.mustConfirm(t, early, ev, map[string]int64{"A-R1-S1": 6000})
	before2 := h.mustConfirm(t, earlyNoApproval, ev, map[string]int64{"A-R1-S2": 6000})
	if before.PolicyVersion == nil || *before.PolicyVersion != 1 {
		t.Fatalf("booking recorded policy version %v, want 1", before.PolicyVersion)
	}
	// The organiser requires approval from now on.
	strict := &refund.Policy{Version: 2, AllowCancellation: true, RequiresApproval: true,
		FeeType: refund.FeePercentage, FeeAmount: 10}
	if err := h.store.SavePolicy(ctx, domain.Event{ID: ev, Policy: strict, PolicyVersion: 2}); err != nil {
		t.Fatal(err)
	}
	late := newUser()
	after := h.mustConfirm(t, late, ev, map[string]int64{"A-R1-S3": 6000})

	_, c, err := h.svc.CancelBooking(ctx, assertion.Identity{UserID: early, Role: assertion.RoleUser}, before.ID, "")
	if err != nil || c.PolicyVersion != 1 || c.Refund != 6000 || c.Status != domain.CancellationProcessed {
		t.Fatalf("early booking after the change: %+v %v", c, err)
	}
	_, c, err = h.svc.RequestCancellation(ctx, assertion.Identity{UserID: earlyNoApproval, Role: assertion.RoleUser}, before2.ID, "")
	if err != nil || c.Status != domain.CancellationProcessed || c.PolicyVersion != 1 {
		t.Fatalf("early request after the change: %+v %v", c, err)
	}
	if _, _, err := h.svc.CancelBooking(ctx, assertion.Identity{UserID: late, Role: assertion.RoleUser}, after.ID, ""); !errors.Is(err, domain.ErrApprovalRequired) {
		t.Fatalf("late booking cancelled without approval: %v", err)
	}
	_, c, err = h.svc.RequestCancellation(ctx, assertion.Identity{UserID: late, Role: assertion.RoleUser}, after.ID, "")
	if err != nil || c.Status != domain.CancellationPending || c.PolicyVersion != 2 || c.Fee != 600 {
		t.Fatalf("late request: %+v %v", c, err)
	}
}

// TestIntegrationSaleBeforeTheEventArrives: a booking confirmed before booking's consumer
// has applied event.published (a sale right after publishing) records no policy version
// and is judged under the event's policy once it has arrived, not as sold without one.
func TestIntegrationSaleBeforeTheEventArrives(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	ev := uuid.Must(uuid.NewV7()) // inventory sells it; booking has not heard of it yet
	user := newUser()
	b := h.mustConfirm(t, user, ev, map[string]int64{"A-R1-S1": 6000})
	if b.PolicyVersion != nil {
		t.Fatalf("booking of an event not yet known recorded policy version %d", *b.PolicyVersion)
	}
	// Catalog's event.published, with its policy, arrives.
	starts := h.clock.Add(100 * time.Hour)
	if err := h.store.SaveEventFacts(ctx, domain.Event{ID: ev, Name: "Show", Status: domain.EventPublished,
		StartsAt: &starts, Currency: "EUR", EventVersion: 1}); err != nil {
		t.Fatal(err)
	}
	fee := &refund.Policy{Version: 1, AllowCancellation: true, FeeType: refund.FeeFixed, FeeAmount: 500}
	if err := h.store.SavePolicy(ctx, domain.Event{ID: ev, Policy: fee, PolicyVersion: 1}); err != nil {
		t.Fatal(err)
	}
	_, c, err := h.svc.CancelBooking(ctx, assertion.Identity{UserID: user, Role: assertion.RoleUser}, b.ID, "")
	if err != nil || c.PolicyVersion != 1 || c.Fee != 500 || c.Refund != 5500 {
		t.Fatalf("cancellation: %+v %v (want the event's fixed fee of 500 under version 1)", c, err)
	}
}
