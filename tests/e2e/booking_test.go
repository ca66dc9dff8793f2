package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"evently.dev/libs/testkit"
)

// TestBookingLifecycleUnderPolicies: hold → confirm → seats SOLD → cancel under each kind
// of policy the seed uses → refund as the policy says → seats AVAILABLE again.
func TestBookingLifecycleUnderPolicies(t *testing.T) {
	admin := adminToken(t)
	deadline := func(before time.Duration) string {
		return time.Now().Add(72*time.Hour - before).UTC().Format(time.RFC3339)
	}
	// Two seats: VIP 300000 + General 150000 = 450000 INR.
	const total = 450000
	cases := []struct {
		name     string
		policy   map[string]any
		refund   int64
		fee      int64
		approval bool
		refused  bool
	}{
		{"no policy: full refund", nil, total, 0, false, false},
		{"percentage fee", map[string]any{"allow_cancellation": true, "cancellation_deadline": deadline(24 * time.Hour),
			"fee_type": "PERCENTAGE", "fee_amount": 10, "refund_tiers": []any{}, "requires_approval": false,
			"refund_processing_days": 7}, 405000, 45000, false, false},
		{"fixed fee", map[string]any{"allow_cancellation": true, "cancellation_deadline": deadline(24 * time.Hour),
			"fee_type": "FIXED", "fee_amount": 5000, "refund_tiers": []any{}, "requires_approval": false,
			"refund_processing_days": 5}, 445000, 5000, false, false},
		{"refund tiers", map[string]any{"allow_cancellation": true, "fee_type": "NONE", "fee_amount": 0,
			"refund_tiers": []any{map[string]any{"hours_before": 100, "refund_percent": 100},
				map[string]any{"hours_before": 48, "refund_percent": 50}},
			"requires_approval": false, "refund_processing_days": 3}, 225000, 0, false, false},
		{"approval required", map[string]any{"allow_cancellation": true, "cancellation_deadline": deadline(24 * time.Hour),
			"fee_type": "FIXED", "fee_amount": 10000, "refund_tiers": []any{}, "requires_approval": true,
			"refund_processing_days": 10}, 440000, 10000, true, false},
		{"cancellation not allowed", map[string]any{"allow_cancellation": false, "fee_type": "NONE", "fee_amount": 0,
			"refund_tiers": []any{}, "requires_approval": false, "refund_processing_days": 0}, 0, 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			eventID, secs := bkEvent(t, admin, hallTemplateBody(), 150000, 72*time.Hour, c.policy)
			user := registerUser(t)
			seats := []string{secs[0].FirstSeats(1)[0], secs[1].FirstSeats(1)[0]}
			holdID, holdTotal := bkHold(t, user.AccessToken, eventID, seats)

			b := bkConfirm(t, user.AccessToken, holdID)
			if b.Status != "CONFIRMED" || b.TotalAmount != total || holdTotal != total || b.Currency != "INR" ||
				b.TotalSeats != 2 || b.EventID != eventID || b.UserID != user.UserID || b.Version != 1 {
				t.Fatalf("booking %+v", b)
			}
			if b.Payment.Status != "COMPLETED" || b.Payment.Amount != total || b.Payment.Provider != "simulated" ||
				b.Payment.Method != "simulated" || !strings.HasPrefix(b.BookingRef, "EVT-"+time.Now().UTC().Format("20060102")+"-") {
				t.Fatalf("payment/ref %+v %s", b.Payment, b.BookingRef)
			}
			st := bkSeatStatuses(t, user.AccessToken, eventID)
			if st[seats[0]] != "SOLD" || st[seats[1]] != "SOLD" {
				t.Fatalf("seats after confirm: %s %s", st[seats[0]], st[seats[1]])
			}
			// The same hold again: the same booking, 200.
			var again bkBooking
			expect(t, call(t, "POST", "/api/v1/bookings/confirm", user.AccessToken, map[string]any{"hold_id": holdID}), 200).Decode(t, &again)
			if again.BookingID != b.BookingID {
				t.Fatalf("repeat confirm made booking %s, first was %s", again.BookingID, b.BookingID)
			}

			path := "/api/v1/bookings/" + b.BookingID
			var out struct {
				Booking      bkBooking      `json:"booking"`
				Cancellation bkCancellation `json:"cancellation"`
			}
			switch {
			case c.refused:
				expectProblem(t, bkCancelCall(t, path+"/cancel", user.AccessToken, nil), 409)
				if st := bkSeatStatuses(t, user.AccessToken, eventID); st[seats[0]] != "SOLD" {
					t.Fatal("a refused cancellation released a seat")
				}
				return
			case c.approval:
				p := expectProblem(t, bkCancelCall(t, path+"/cancel", user.AccessToken, nil), 409)
				if !strings.Contains(fmt.Sprint(p["detail"]), "request-cancel") {
					t.Fatalf("409 does not point to request-cancel: %v", p["detail"])
				}
				var req struct {
					Booking      bkBooking      `json:"booking"`
					Cancellation bkCancellation `json:"cancellation"`
				}
				expect(t, bkCancelCall(t, path+"/request-cancel", user.AccessToken, map[string]any{"reason": "cannot go"}), 201).Decode(t, &req)
				if req.Cancellation.Status != "PENDING" || req.Booking.Status != "CONFIRMED" ||
					req.Cancellation.RefundAmount != c.refund {
					t.Fatalf("request-cancel: %+v", req)
				}
				expect(t, call(t, "POST", "/api/v1/admin/cancellations/"+req.Cancellation.ID+"/approve", admin, nil), 200).Decode(t, &out)
			default:
				expect(t, bkCancelCall(t, path+"/cancel", user.AccessToken, map[string]any{"reason": "plans changed"}), 200).Decode(t, &out)
			}
			if out.Booking.Status != "CANCELLED" || out.Booking.Version != 2 || out.Booking.CancelledAt == nil ||
				out.Cancellation.Status != "PROCESSED" || out.Cancellation.RefundAmount != c.refund ||
				out.Cancellation.CancellationFee != c.fee || out.Cancellation.Currency != "INR" {
				t.Fatalf("cancel answer: %+v", out)
			}
			if out.Booking.Payment.RefundAmount == nil || *out.Booking.Payment.RefundAmount != c.refund {
				t.Fatalf("payment refund: %+v", out.Booking.Payment)
			}
			expectProblem(t, call(t, "POST", path+"/cancel", user.AccessToken, nil), 409)
			var cn bkCancellation
			expect(t, call(t, "GET", "/api/v1/cancellations/"+out.Cancellation.ID, user.AccessToken, nil), 200).Decode(t, &cn)
			if cn.BookingID != b.BookingID || cn.RefundAmount != c.refund {
				t.Fatalf("GET cancellation: %+v", cn)
			}
			bkWaitSeats(t, user.AccessToken, eventID, seats, "AVAILABLE")
		})
	}
}

// TestBookingAccessAndValidation: strangers get 404, owners and admins see bookings,
// malformed input is a 4xx problem.
func TestBookingAccessAndValidation(t *testing.T) {
	admin := adminToken(t)
	eventID, secs := bkEvent(t, admin, hallTemplateBody(), 1000, 72*time.Hour, nil)
	owner, stranger := registerUser(t), registerUser(t)
	seats := secs[1].FirstSeats(1)
	holdID, _ := bkHold(t, owner.AccessToken, eventID, seats)

	// A stranger confirming the owner's hold is refused and does not lock the owner out.
	r := call(t, "POST", "/api/v1/bookings/confirm", stranger.AccessToken, map[string]any{"hold_id": holdID})
	if r.Status != 409 && r.Status != 404 {
		t.Fatalf("stranger confirm: %d %s", r.Status, r.Body)
	}
	b := bkConfirm(t, owner.AccessToken, holdID)
	path := "/api/v1/bookings/" + b.BookingID

	expectProblem(t, call(t, "GET", path, stranger.AccessToken, nil), 404)
	expectProblem(t, call(t, "POST", path+"/cancel", stranger.AccessToken, nil), 404)
	expectProblem(t, call(t, "POST", path+"/request-cancel", stranger.AccessToken, map[string]any{"reason": "x"}), 404)
	expect(t, call(t, "GET", path, owner.AccessToken, nil), 200)
	expect(t, call(t, "GET", path, admin, nil), 200)
	expectProblem(t, call(t, "GET", path, "", nil), 401)

	var mine struct {
		Items []bkBooking         `json:"items"`
		Page  struct{ Total int } `json:"page"`
	}
	expect(t, call(t, "GET", "/api/v1/users/bookings?status=CONFIRMED", owner.AccessToken, nil), 200).Decode(t, &mine)
	if mine.Page.Total != 1 || mine.Items[0].BookingID != b.BookingID {
		t.Fatalf("my bookings: %+v", mine)
	}
	expect(t, call(t, "GET", "/api/v1/users/bookings", stranger.AccessToken, nil), 200).Decode(t, &mine)
	for _, it := range mine.Items {
		if it.BookingID == b.BookingID {
			t.Fatal("a stranger lists someone else's booking")
		}
	}
	expect(t, call(t, "GET", "/api/v1/admin/bookings?event_id="+eventID, admin, nil), 200).Decode(t, &mine)
	if mine.Page.Total != 1 {
		t.Fatalf("admin list by event: %+v", mine.Page)
	}
	expectProblem(t, call(t, "GET", "/api/v1/admin/bookings", owner.AccessToken, nil), 403)

	bad := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"malformed JSON", "POST", "/api/v1/bookings/confirm", `{"hold_id":`, 400},
		{"unknown field", "POST", "/api/v1/bookings/confirm", `{"hold_id":"` + holdID + `","price":1}`, 400},
		{"wrong type", "POST", "/api/v1/bookings/confirm", `{"hold_id":42}`, 400},
		{"missing hold", "POST", "/api/v1/bookings/confirm", `{}`, 422},
		{"hold not a uuid", "POST", "/api/v1/bookings/confirm", `{"hold_id":"nope"}`, 422},
		{"long payment method", "POST", "/api/v1/bookings/confirm",
			`{"hold_id":"` + holdID + `","payment_method":"` + strings.Repeat("x", 33) + `"}`, 422},
		{"empty body", "POST", "/api/v1/bookings/confirm", "", 400},
		{"bad booking id", "GET", "/api/v1/bookings/not-a-uuid", nil, 400},
		{"unknown booking", "GET", "/api/v1/bookings/0192a5d2-0000-7000-8000-000000000001", nil, 404},
		{"bad status filter", "GET", "/api/v1/users/bookings?status=LOST", nil, 400},
		{"limit too large", "GET", "/api/v1/users/bookings?limit=101", nil, 400},
		{"reason wrong type", "POST", path + "/request-cancel", `{"reason":5}`, 400},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			expectProblem(t, call(t, c.method, c.path, owner.AccessToken, c.body), c.status)
		})
	}
	var still bkBooking
	expect(t, call(t, "GET", path, owner.AccessToken, nil), 200).Decode(t, &still)
	if still.Status != "CONFIRMED" {
		t.Fatalf("bad requests changed the booking: %s", still.Status)
	}
}

// TestBookingEventCancelledRefundsAll: cancelling an event cancels and fully refunds its
// bookings and returns their seats.
func TestBookingEventCancelledRefundsAll(t *testing.T) {
	admin := adminToken(t)
	eventID, secs := bkEvent(t, admin, hallTemplateBody(), 1000, 72*time.Hour, map[string]any{
		"allow_cancellation": false, "fee_type": "NONE", "fee_amount": 0, "refund_tiers": []any{},
		"requires_approval": false, "refund_processing_days": 0})
	user := registerUser(t)
	holdID, _ := bkHold(t, user.AccessToken, eventID, secs[1].FirstSeats(2))
	b := bkConfirm(t, user.AccessToken, holdID)
	expect(t, call(t, "POST", "/api/v1/admin/events/"+eventID+"/cancel", admin, nil), 200)
	var got bkBooking
	testkit.Eventually(t, 20*time.Second, func() bool {
		got = bkBooking{}
		expect(t, call(t, "GET", "/api/v1/bookings/"+b.BookingID, user.AccessToken, nil), 200).Decode(t, &got)
		return got.Status == "CANCELLED"
	}, "booking %s cancelled with its event; last status %v", b.BookingID, testkit.Lazy(func() string { return got.Status }))
	if got.Payment.Status != "REFUNDED" || got.Payment.RefundAmount == nil || *got.Payment.RefundAmount != got.TotalAmount {
		t.Fatalf("event cancellation refund: %+v", got.Payment)
	}
	var list struct {
		Items []bkCancellation `json:"items"`
	}
	expect(t, call(t, "GET", "/api/v1/users/cancellations", user.AccessToken, nil), 200).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].BookingID != b.BookingID || list.Items[0].Status != "PROCESSED" {
		t.Fatalf("cancellations: %+v", list.Items)
	}
}

// TestBookingRaceNeverOversells: 200 clients race for 50 seats through the gateway; then
// the ledger and the bookings table must agree seat by seat.
func TestBookingRaceNeverOversells(t *testing.T) {
	if testing.Short() {
		t.Skip("race test registers 200 users")
	}
	const clients, capacity = 200, 50
	admin := adminToken(t)
	tpl := map[string]any{"name": "E2E Race " + randHex(6), "layout_type": "THEATER", "sections": []any{
		map[string]any{"name": "Stalls", "row_start": "A", "row_end": "E", "seats_per_row": 10}}}
	eventID, secs := bkEvent(t, admin, tpl, 1000, 72*time.Hour, nil)
	var all []string
	for _, row := range []string{"A", "B", "C", "D", "E"} {
		for n := 1; n <= 10; n++ {
			all = append(all, secs[0].SeatID(row, n))
		}
	}
	users := make([]authResult, clients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			users[i] = registerUser(t)
		})
	}
	wg.Wait()
	// Wait until inventory sells the event, then give the seat back.
	warm, _ := bkHold(t, users[0].AccessToken, eventID, []string{all[0]})
	expect(t, call(t, "DELETE", "/api/v1/seats/hold/"+warm, users[0].AccessToken, nil), 204)

	var mu sync.Mutex
	statuses := map[string]int{}
	confirmed := 0
	start := make(chan struct{})
	for i := range users {
		wg.Go(func() {
			<-start
			n := 1 + rand.IntN(2)
			perm := rand.Perm(capacity)[:n]
			seats := make([]string, n)
			for j, p := range perm {
				seats[j] = all[p]
			}
			tok := users[i].AccessToken
			r := call(t, "POST", "/api/v1/seats/hold", tok, map[string]any{"event_id": eventID, "seat_ids": seats})
			key := fmt.Sprintf("hold %d", r.Status)
			if r.Status == http.StatusCreated {
				var h struct {
					HoldID string `json:"hold_id"`
				}
				_ = json.Unmarshal(r.Body, &h)
				c := call(t, "POST", "/api/v1/bookings/confirm", tok, map[string]any{"hold_id": h.HoldID})
				key = fmt.Sprintf("confirm %d", c.Status)
				mu.Lock()
				if c.Status == http.StatusCreated {
					confirmed++
				}
				mu.Unlock()
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	t.Logf("outcomes: %v", statuses)
	for k := range statuses {
		if k != "hold 201" && k != "hold 409" && k != "confirm 201" && k != "confirm 409" {
			t.Errorf("unexpected outcome %q (%d times)", k, statuses[k])
		}
	}
	if confirmed == 0 {
		t.Fatal("no booking was confirmed at all")
	}

	ctx := context.Background()
	dbURL := sys.DatabaseURL
	if dbURL == "" { // against a running system (EVENTLY_E2E_BASE_URL), say where its database is
		dbURL = os.Getenv("EVENTLY_E2E_DATABASE_URL")
	}
	if dbURL == "" {
		t.Skip("the system's database is unknown: set EVENTLY_E2E_DATABASE_URL")
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	soldTo := map[string]string{}
	rows, err := db.Query(ctx, `SELECT seat_id, booking_id::text FROM inventory.seats WHERE event_id = $1 AND status = 'SOLD'`, eventID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var seat, booking string
		if err := rows.Scan(&seat, &booking); err != nil {
			t.Fatal(err)
		}
		soldTo[seat] = booking
	}
	rows.Close()
	type booked struct {
		id, status string
		seats      []string
	}
	var bookings []booked
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.UserID
	}
	rows, err = db.Query(ctx, `SELECT id::text, status, seats FROM booking.bookings WHERE event_id = $1 OR user_id = ANY($2)`, eventID, ids)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b booked
		var raw []byte
		if err := rows.Scan(&b.id, &b.status, &raw); err != nil {
			t.Fatal(err)
		}
		var seats []struct {
			SeatID string `json:"seat_id"`
		}
		_ = json.Unmarshal(raw, &seats)
		for _, s := range seats {
			b.seats = append(b.seats, s.SeatID)
		}
		bookings = append(bookings, b)
	}
	rows.Close()

	owner := map[string]string{} // seat → CONFIRMED booking
	nConfirmed := 0
	for _, b := range bookings {
		switch b.status {
		case "PENDING":
			t.Errorf("booking %s left PENDING", b.id)
		case "CONFIRMED":
			nConfirmed++
			for _, s := range b.seats {
				if prev, dup := owner[s]; dup {
					t.Errorf("seat %s in two confirmed bookings %s and %s", s, prev, b.id)
				}
				owner[s] = b.id
				if soldTo[s] != b.id {
					t.Errorf("confirmed booking %s has seat %s, which the ledger sold to %q", b.id, s, soldTo[s])
				}
			}
		}
	}
	for seat, b := range soldTo {
		if owner[seat] != b {
			t.Errorf("ledger sold seat %s to %s, which is not a CONFIRMED booking holding it", seat, b)
		}
	}
	if len(soldTo) > capacity {
		t.Errorf("sold %d seats of %d", len(soldTo), capacity)
	}
	if nConfirmed != confirmed {
		t.Errorf("%d confirms answered 201 but %d bookings are CONFIRMED", confirmed, nConfirmed)
	}
	t.Logf("%d clients, %d bookings confirmed, %d of %d seats sold", clients, nConfirmed, len(soldTo), capacity)
}
