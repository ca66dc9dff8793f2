package e2e

import (
	"testing"
	"time"

	"evently.dev/libs/testkit"
)

// waitLedger polls the public availability of an event until inventory has built its seat
// ledger from event.published (404 until then), and returns the availability JSON.
func waitLedger(t testing.TB, eventID string) map[string]any {
	t.Helper()
	var r resp
	testkit.Eventually(t, 20*time.Second, func() bool {
		r = call(t, "GET", "/api/v1/events/"+eventID+"/availability", "", nil)
		if r.Status != 200 && r.Status != 404 {
			t.Fatalf("ledger of %s: %d %s", eventID, r.Status, r.Body)
		}
		return r.Status == 200
	}, "ledger of %s built (availability answers 200, not 404)", eventID)
	return r.JSON(t)
}

// holdSeats holds the seats for the token's user (201) and returns the hold JSON; it
// first waits for the event's ledger.
func holdSeats(t testing.TB, token, eventID string, seatIDs []string) map[string]any {
	t.Helper()
	waitLedger(t, eventID)
	return expect(t, call(t, "POST", "/api/v1/seats/hold", token,
		map[string]any{"event_id": eventID, "seat_ids": seatIDs}), 201).JSON(t)
}

// holdBestAvailable holds quantity seats of a section chosen by the service (201).
func holdBestAvailable(t testing.TB, token, eventID, sectionID string, quantity int) map[string]any {
	t.Helper()
	waitLedger(t, eventID)
	return expect(t, call(t, "POST", "/api/v1/seats/hold", token,
		map[string]any{"event_id": eventID, "section_id": sectionID, "quantity": quantity}), 201).JSON(t)
}

// heldSeatIDs lists the seat ids of a hold JSON.
func heldSeatIDs(h map[string]any) []string {
	var out []string
	for _, s := range h["seats"].([]any) {
		out = append(out, s.(map[string]any)["seat_id"].(string))
	}
	return out
}
