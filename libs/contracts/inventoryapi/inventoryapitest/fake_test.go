package inventoryapitest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts/inventoryapi"
	"evently.dev/libs/contracts/inventoryapi/inventoryapitest"
	"evently.dev/libs/servicecall"
)

// TestFakeLifecycle walks one offer through the fake the way callers do: hold, read,
// commit (and its replay), release of the booking, with the counts following along.
func TestFakeLifecycle(t *testing.T) {
	f := inventoryapitest.New(t, "s")
	ev := f.AddEvent([]string{"sec-a"}, 1, 4, inventoryapitest.Available)
	c := servicecall.New(servicecall.Options{BaseURL: f.URL, Secret: "s", Timeout: 2 * time.Second,
		Service: assertion.Identity{UserID: "service:test", Role: "SERVICE"}})
	ctx := context.Background()

	var h inventoryapi.Hold
	if err := c.Do(ctx, http.MethodPost, inventoryapi.PathHolds, inventoryapi.PlaceHoldRequest{EventID: ev.String(),
		UserID: "u1", SeatIDs: []string{"A-R1-S1", "A-R1-S2"}, TTLSeconds: 60}, &h); err != nil {
		t.Fatal(err)
	}
	var again inventoryapi.Hold
	err := c.Do(ctx, http.MethodPost, inventoryapi.PathHolds, inventoryapi.PlaceHoldRequest{EventID: ev.String(),
		UserID: "u2", SeatIDs: []string{"A-R1-S2", "A-R1-S3"}}, &again)
	var e *servicecall.Error
	var extra inventoryapi.SeatsProblem
	if !errors.As(err, &e) || e.Code != inventoryapi.CodeSeatsUnavailable || e.DecodeProblem(&extra) != nil ||
		len(extra.ConflictingSeatIDs) != 1 || f.Conflicts() != 1 {
		t.Fatalf("second hold of a held seat: %v %+v", err, extra)
	}
	var read inventoryapi.Hold
	if err := c.Do(ctx, http.MethodGet, inventoryapi.HoldPath(h.HoldID)+"?user_id=u1", nil, &read); err != nil || read.TotalAmount != 3000 {
		t.Fatalf("read hold: %+v %v", read, err)
	}
	var a inventoryapi.Availability
	if err := c.Do(ctx, http.MethodGet, inventoryapi.AvailabilityPath(ev), nil, &a); err != nil || a.Available != 2 || a.Held != 2 {
		t.Fatalf("availability: %+v %v", a, err)
	}

	booking := uuid.New()
	for _, replayed := range []bool{false, true} {
		var cm inventoryapi.Commit
		if err := c.DoIdempotent(ctx, http.MethodPost, inventoryapi.CommitPath(h.HoldID),
			inventoryapi.CommitRequest{BookingID: booking.String(), UserID: "u1"}, &cm); err != nil || cm.Replayed != replayed || cm.BookingID != booking {
			t.Fatalf("commit: %+v %v", cm, err)
		}
	}
	if f.SoldTo(ev, "A-R1-S1") != booking.String() || f.CommitCount() != 1 || f.CommitCalls() != 2 {
		t.Fatalf("ledger: sold to %q, %d commits of %d calls", f.SoldTo(ev, "A-R1-S1"), f.CommitCount(), f.CommitCalls())
	}
	var rel inventoryapi.BookingRelease
	if err := c.DoIdempotent(ctx, http.MethodPost, inventoryapi.ReleaseBookingPath(booking), nil, &rel); err != nil || !rel.Released || len(rel.SeatIDs) != 2 {
		t.Fatalf("release: %+v %v", rel, err)
	}
	var free inventoryapi.AvailableSeats
	if err := c.Do(ctx, http.MethodGet, inventoryapi.AvailableSeatsPath(ev), nil, &free); err != nil || len(free.Seats) != 4 {
		t.Fatalf("after the release: %+v %v", free, err)
	}
}

// TestFakeRefusesUnsignedCalls checks the fake, like inventory, wants a verified assertion.
func TestFakeRefusesUnsignedCalls(t *testing.T) {
	f := inventoryapitest.New(t, "s")
	c := servicecall.New(servicecall.Options{BaseURL: f.URL, Secret: "other", Timeout: 2 * time.Second,
		Service: assertion.Identity{UserID: "service:test", Role: "SERVICE"}})
	err := c.Do(context.Background(), http.MethodGet, inventoryapi.AvailabilityPath(uuid.New()), nil, nil)
	var e *servicecall.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v", err)
	}
}
