package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"evently.dev/libs/contracts/inventoryapi"

	"evently.dev/services/inventory/internal/inventorytest"
)

// decode reads an answer into the contract's type, failing on members the contract lacks,
// so the handlers and the callers' types cannot drift apart unnoticed.
func decode[T any](t *testing.T, r inventorytest.Response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("answer %d does not decode into %T: %v: %s", r.Status, v, err, r.Body)
	}
	return v
}

// TestIntegrationInternalWaitlistRoutes drives the internal routes the waitlist uses
// (availability, available seats, releasing an offer on its owner's behalf) against the
// real ledger and holds, and decodes every answer into the contract's types.
func TestIntegrationInternalWaitlistRoutes(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 10, Price: 1000}, 4)
	eventID := uuid.MustParse(p.EventID)
	u := user()
	offered := inventorytest.SeatIDs(p, 0, 0, 1, 2)
	r := env.Call(t, "POST", inventoryapi.PathHolds, "service:waitlist", inventoryapi.PlaceHoldRequest{EventID: p.EventID,
		UserID: u, SeatIDs: offered, TTLSeconds: 600, Purpose: inventoryapi.PurposeWaitlistOffer})
	if r.Status != 201 {
		t.Fatalf("offer hold: %d %s", r.Status, r.Body)
	}
	h := decode[inventoryapi.Hold](t, r)
	if h.UserID != u || h.EventID != eventID || len(h.Seats) != 2 || h.TotalAmount != 2000 || h.Purpose != inventoryapi.PurposeWaitlistOffer {
		t.Fatalf("hold %+v", h)
	}

	r = env.Call(t, "GET", inventoryapi.AvailabilityPath(eventID), "service:waitlist", nil)
	a := decode[inventoryapi.Availability](t, r)
	if r.Status != 200 || a.EventID != eventID || a.Available != 8 || a.Held != 2 || len(a.Sections) != 1 || a.Sections[0].Available != 8 {
		t.Fatalf("availability: %d %+v", r.Status, a)
	}
	r = env.Call(t, "GET", inventoryapi.AvailableSeatsPath(eventID), "service:waitlist", nil)
	free := decode[inventoryapi.AvailableSeats](t, r)
	if r.Status != 200 || len(free.Seats) != 8 || free.Seats[0].SeatID != inventorytest.SeatIDs(p, 0, 0, 3, 1)[0] || free.Seats[0].Price != 1000 {
		t.Fatalf("available seats: %d %+v", r.Status, free)
	}

	// Only the owner's release is honoured; a second one finds nothing.
	if r = env.Call(t, "POST", inventoryapi.ReleaseHoldPath(h.HoldID), "service:waitlist", inventoryapi.ReleaseHoldRequest{UserID: user()}); r.Status != 404 ||
		!strings.Contains(string(r.Body), inventoryapi.CodeHoldNotFound) {
		t.Fatalf("release for someone else: %d %s", r.Status, r.Body)
	}
	if r = env.Call(t, "POST", inventoryapi.ReleaseHoldPath(h.HoldID), "service:waitlist", inventoryapi.ReleaseHoldRequest{UserID: u}); r.Status != 204 {
		t.Fatalf("release: %d %s", r.Status, r.Body)
	}
	if r = env.Call(t, "POST", inventoryapi.ReleaseHoldPath(h.HoldID), "service:waitlist", inventoryapi.ReleaseHoldRequest{UserID: u}); r.Status != 404 {
		t.Fatalf("release twice: %d %s", r.Status, r.Body)
	}
	if free = decode[inventoryapi.AvailableSeats](t, env.Call(t, "GET", inventoryapi.AvailableSeatsPath(eventID), "service:waitlist", nil)); len(free.Seats) != 10 {
		t.Fatalf("after the release %d seats are available, want 10", len(free.Seats))
	}

	unknown := uuid.New()
	for _, tc := range []struct {
		name, method, path, user string
		body                     any
		want                     int
	}{
		{"no assertion", "GET", inventoryapi.AvailableSeatsPath(eventID), "", nil, 401},
		{"unknown event seats", "GET", inventoryapi.AvailableSeatsPath(unknown), "service:waitlist", nil, 404},
		{"unknown event counts", "GET", inventoryapi.AvailabilityPath(unknown), "service:waitlist", nil, 404},
		{"bad event id", "GET", inventoryapi.PathPrefix + "/events/x/seats/available", "service:waitlist", nil, 400},
		{"release bad hold id", "POST", inventoryapi.PathHolds + "/x/release", "service:waitlist", inventoryapi.ReleaseHoldRequest{UserID: u}, 400},
		{"release no user", "POST", inventoryapi.ReleaseHoldPath(h.HoldID), "service:waitlist", map[string]any{}, 400},
		{"release bad json", "POST", inventoryapi.ReleaseHoldPath(h.HoldID), "service:waitlist", "{", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := env.Call(t, tc.method, tc.path, tc.user, tc.body); r.Status != tc.want || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%d (%s) %s, want %d problem+json", r.Status, r.Header.Get("Content-Type"), r.Body, tc.want)
			}
		})
	}
}

// TestIntegrationCommitAnswersTheContract sells a hold through the internal API and reads
// the answer, and its replay, strictly as the contract's Commit.
func TestIntegrationCommitAnswersTheContract(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 4, Price: 700}, 4)
	u := user()
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 1, 2)})
	booking := uuid.New()
	for i, replayed := range []bool{false, true} {
		r := env.Call(t, "POST", inventoryapi.CommitPath(uuid.MustParse(h["hold_id"].(string))), "service:booking",
			inventoryapi.CommitRequest{BookingID: booking.String(), UserID: u, EventID: p.EventID})
		c := decode[inventoryapi.Commit](t, r)
		if r.Status != 200 || c.BookingID != booking || c.UserID != u || len(c.Seats) != 2 || c.TotalAmount != 1400 || c.Replayed != replayed {
			t.Fatalf("commit %d: %d %+v", i, r.Status, c)
		}
	}
	r := env.Call(t, "POST", inventoryapi.ReleaseBookingPath(booking), "service:booking", nil)
	rel := decode[inventoryapi.BookingRelease](t, r)
	if r.Status != 200 || !rel.Released || rel.EventID.String() != p.EventID || len(rel.SeatIDs) != 2 {
		t.Fatalf("release booking: %d %+v", r.Status, rel)
	}
	r = env.Call(t, "POST", inventoryapi.ReleaseBookingPath(booking), "service:booking", nil)
	if rel = decode[inventoryapi.BookingRelease](t, r); rel.Released || strings.Contains(string(r.Body), "event_id") {
		t.Fatalf("second release: %s", r.Body)
	}
}
