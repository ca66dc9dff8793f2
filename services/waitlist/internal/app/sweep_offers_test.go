package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"

	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/store"
	"evently.dev/services/waitlist/internal/waitlisttest"
)

// TestIntegrationOfferEndsWhenItsHoldReleaseIsLost makes an offer, then loses the
// hold.released that would have ended it (inventory is best effort there). Before its
// window has passed (plus grace) the sweep leaves it alone; after, the entry is EXPIRED
// with its e-mail and waitlist.expired, a round is requested so the next in line is
// offered, and a late hold.released or a second sweep changes nothing.
func TestIntegrationOfferEndsWhenItsHoldReleaseIsLost(t *testing.T) {
	ctx := context.Background()
	db := waitlisttest.DB(t)
	inv := waitlisttest.NewInventory(t, []string{uuid.NewString()}, 1, 4)
	svc := newService(db, inv)
	st := &store.Store{DB: db}
	if err := st.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		return svc.EventPublished(ctx, r, contracts.EventPublished{EventID: inv.EventID.String(), Name: "Gig",
			StartsAt: time.Now().Add(48 * time.Hour), Currency: "EUR", Version: 1})
	}); err != nil {
		t.Fatal(err)
	}
	a := join(t, svc, inv.EventID, "u1", 1, "")
	join(t, svc, inv.EventID, "u2", 1, "")
	seats := inv.Snapshot()
	inv.Release(seats[0].ID)
	made, err := svc.OfferToNextInLine(ctx, inv.EventID)
	if err != nil || len(made) != 1 || made[0].EntryID != a.ID {
		t.Fatalf("offers %+v, %v", made, err)
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM offer_rounds WHERE event_id = ?", inv.EventID); err != nil {
		t.Fatal(err)
	}
	// The user released the offer hold at inventory; its hold.released never arrives.

	if n, err := svc.SweepStaleOffers(ctx, time.Minute, 10); err != nil || n != 0 {
		t.Fatalf("sweep inside the window ended %d, err %v", n, err)
	}
	svc.Now = func() time.Time { return made[0].ExpiresAt.Add(2 * time.Minute) }
	if n, err := svc.SweepStaleOffers(ctx, time.Minute, 10); err != nil || n != 1 {
		t.Fatalf("sweep after the window ended %d (want 1), err %v", n, err)
	}
	if e, _ := svc.WaitlistStatus(ctx, "u1", inv.EventID); e.Status != domain.StatusExpired {
		t.Fatalf("after the sweep: %s, want EXPIRED", e.Status)
	}
	if n := count(t, db, "SELECT count(*) FROM outbox WHERE type = ?", contracts.TypeWaitlistExpired); n != 1 {
		t.Fatalf("%d waitlist.expired", n)
	}
	if n := count(t, db, "SELECT count(*) FROM offer_rounds WHERE event_id = ?", inv.EventID); n != 1 {
		t.Fatal("no round requested for the next in line")
	}
	// The lost event turns up late after all: nothing more happens.
	if err := st.InTx(ctx, func(ctx context.Context, r domain.Repository) error {
		return svc.HoldReleased(ctx, r, contracts.HoldReleased{HoldID: made[0].HoldID.String(), EventID: inv.EventID.String(),
			UserID: "u1", SeatIDs: made[0].SeatIDs, Purpose: contracts.HoldPurposeWaitlistOffer, ReleasedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.SweepStaleOffers(ctx, time.Minute, 10); err != nil || n != 0 {
		t.Fatalf("second sweep ended %d, err %v", n, err)
	}
	if e, _ := svc.WaitlistStatus(ctx, "u1", inv.EventID); e.Status != domain.StatusExpired {
		t.Fatalf("after the late hold.released: %s", e.Status)
	}
	if n := count(t, db, "SELECT count(*) FROM outbox WHERE type IN (?, ?)", contracts.TypeWaitlistExpired, contracts.TypeWaitlistLeft); n != 1 {
		t.Fatalf("%d waitlist.expired/left in all, want 1", n)
	}
}
