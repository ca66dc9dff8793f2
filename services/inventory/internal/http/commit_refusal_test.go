package http_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"evently.dev/services/inventory/internal/inventorytest"
)

// A hold whose seat the ledger sold behind Redis's back (a sale Redis lost) is refused
// whole, and the 409 names only that seat: not the hold's other seats, which the refused
// sale's own UPDATE had taken before the transaction rolled back.
func TestIntegrationCommitRefusalNamesOnlyTheTakenSeats(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 10, Price: 1000}, 6)
	seats := inventorytest.SeatIDs(p, 0, 0, 3, 3)
	u := user()
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": seats})
	if _, err := env.DB.NewRaw(`UPDATE seats SET status = 'SOLD', booking_id = ? WHERE event_id = ? AND seat_id = ?`,
		uuid.Must(uuid.NewV7()), p.EventID, seats[1]).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := commit(t, env, h["hold_id"].(string), uuid.NewString(), u)
	if r.Status != 409 {
		t.Fatalf("commit: %d %s", r.Status, r.Body)
	}
	got, _ := r.JSON(t)["conflicting_seat_ids"].([]any)
	if !reflect.DeepEqual(got, []any{seats[1]}) {
		t.Fatalf("conflicting_seat_ids = %v, want [%s] (%s)", got, seats[1], r.Body)
	}
	if st := ledgerStatus(t, env, p.EventID); st["SOLD"] != 1 || st["AVAILABLE"] != 9 {
		t.Fatalf("ledger = %v, want only the seat sold behind Redis's back", st)
	}
}
