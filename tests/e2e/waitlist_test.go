package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"evently.dev/libs/testkit"
)

// TestWaitlistOffersReserveSeatsInOrder: a sold-out event; four people queue; cancelled
// bookings' seats are held for the first entry that fits and emailed; a booked offer
// converts, a too-big entry is skipped but keeps its place, a lapsed offer expires and
// its seat goes to the next fitting entry.
func TestWaitlistOffersReserveSeatsInOrder(t *testing.T) {
	admin := adminToken(t)
	tpl := map[string]any{"name": "E2E Waitlist Hall " + randHex(6), "layout_type": "GENERAL", "sections": []any{
		map[string]any{"name": "Floor", "row_start": "A", "row_end": "A", "seats_per_row": 5}}}
	eventID, secs := bkEvent(t, admin, tpl, 10000, 72*time.Hour, nil)
	seat := func(n int) string { return secs[0].SeatID("A", n) }

	// While seats are free, joining is refused.
	early := registerUser(t)
	testkit.Eventually(t, 15*time.Second, func() bool {
		r := call(t, "POST", "/api/v1/waitlist", early.AccessToken, map[string]any{"event_id": eventID, "quantity": 1})
		if r.Status != 409 && r.Status != 404 { // 404 while inventory learns the event
			t.Fatalf("join with seats available: %d %s", r.Status, r.Body)
		}
		return r.Status == 409
	}, "joining %s refused while seats are free (409, not 404)", eventID)

	// Sell out: three buyers take 2 + 1 + 2 seats.
	type sale struct {
		buyer   authResult
		booking bkBooking
	}
	var sales []sale
	for _, seats := range [][]string{{seat(1), seat(2)}, {seat(3)}, {seat(4), seat(5)}} {
		b := registerUser(t)
		hold, _ := bkHold(t, b.AccessToken, eventID, seats)
		sales = append(sales, sale{b, bkConfirm(t, b.AccessToken, hold)})
	}

	// Four people queue: 2 seats, 2 seats, 1 seat, 1 seat — FIFO positions.
	users := []authResult{registerUser(t), registerUser(t), registerUser(t), registerUser(t)}
	for i, q := range []int{2, 2, 1, 1} {
		e := wlJoin(t, users[i].AccessToken, eventID, q)
		if e.Status != "WAITING" || e.Position != i+1 || e.Quantity != q {
			t.Fatalf("join %d: %+v", i, e)
		}
	}
	expectProblem(t, call(t, "POST", "/api/v1/waitlist", users[0].AccessToken, map[string]any{"event_id": eventID, "quantity": 1}), 409)
	wlWaitMail(t, users[0].Email, "on the waitlist")

	// A 2-seat booking is cancelled: the head (2 seats) is offered exactly those seats.
	cancel := func(s sale) {
		t.Helper()
		expect(t, bkCancelCall(t, "/api/v1/bookings/"+s.booking.BookingID+"/cancel", s.buyer.AccessToken, nil), 200)
	}
	cancel(sales[0])
	e0 := wlWaitStatus(t, users[0].AccessToken, eventID, "OFFERED")
	got := append([]string(nil), e0.Offer.SeatIDs...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, []string{seat(1), seat(2)}) || e0.Offer.HoldID == "" || !e0.Offer.ExpiresAt.After(time.Now()) {
		t.Fatalf("offer to the head: %+v", e0.Offer)
	}
	if st := bkSeatStatuses(t, users[0].AccessToken, eventID); st[seat(1)] != "HELD" || st[seat(2)] != "HELD" {
		t.Fatalf("offered seats are not held: %v", st)
	}
	wlWaitMail(t, users[0].Email, "Seats reserved for you")
	if e := wlStatus(t, users[1].AccessToken, eventID); e.Status != "WAITING" || e.Position != 2 {
		t.Fatalf("second in line: %+v", e)
	}

	// The head books the offer like any hold: CONVERTED.
	b := bkConfirm(t, users[0].AccessToken, e0.Offer.HoldID)
	if b.TotalSeats != 2 {
		t.Fatalf("offer booking: %+v", b)
	}
	conv := wlWaitStatus(t, users[0].AccessToken, eventID, "CONVERTED")
	if conv.BookingID == nil || *conv.BookingID != b.BookingID {
		t.Fatalf("converted entry: %+v", conv)
	}

	// A 1-seat booking is cancelled: the 2-seat entry is skipped (keeps its place), the
	// 1-seat entry behind it is offered the seat.
	cancel(sales[1])
	e2 := wlWaitStatus(t, users[2].AccessToken, eventID, "OFFERED")
	if !reflect.DeepEqual(e2.Offer.SeatIDs, []string{seat(3)}) {
		t.Fatalf("offer to the 1-seat entry: %+v", e2.Offer)
	}
	if e := wlStatus(t, users[1].AccessToken, eventID); e.Status != "WAITING" || e.Position != 1 {
		t.Fatalf("skipped 2-seat entry: %+v", e)
	}
	wlWaitMail(t, users[2].Email, "Seats reserved for you")

	// That offer is left to lapse (WAITLIST_OFFER_WINDOW=6s in the e2e run): EXPIRED, an
	// email says so, and the seat goes to the next entry that fits (the last, 1 seat).
	wlWaitStatus(t, users[2].AccessToken, eventID, "EXPIRED")
	wlWaitMail(t, users[2].Email, "were released")
	e3 := wlWaitStatus(t, users[3].AccessToken, eventID, "OFFERED")
	if !reflect.DeepEqual(e3.Offer.SeatIDs, []string{seat(3)}) || e3.Offer.HoldID == e2.Offer.HoldID {
		t.Fatalf("offer after the lapse: %+v", e3.Offer)
	}
	if e := wlStatus(t, users[1].AccessToken, eventID); e.Status != "WAITING" {
		t.Fatalf("2-seat entry after the lapse: %+v", e)
	}

	// Organisers see the queue and its figures.
	var stats struct {
		ByStatus       map[string]int `json:"by_status"`
		OffersMade     int            `json:"offers_made"`
		ConversionRate float64        `json:"conversion_rate"`
	}
	expect(t, call(t, "GET", "/api/v1/admin/waitlist/stats/"+eventID, admin, nil), 200).Decode(t, &stats)
	want := map[string]int{"WAITING": 1, "OFFERED": 1, "CONVERTED": 1, "EXPIRED": 1, "CANCELLED": 0}
	if !reflect.DeepEqual(stats.ByStatus, want) || stats.OffersMade != 3 || fmt.Sprintf("%.3f", stats.ConversionRate) != "0.333" {
		t.Fatalf("stats: %+v", stats)
	}
	var list struct {
		Items []wlEntry `json:"items"`
		Page  struct {
			Total int `json:"total"`
		} `json:"page"`
	}
	expect(t, call(t, "GET", "/api/v1/admin/waitlist/entries/"+eventID+"?status=WAITING&limit=10", admin, nil), 200).Decode(t, &list)
	if list.Page.Total != 1 || len(list.Items) != 1 || list.Items[0].ID != wlStatus(t, users[1].AccessToken, eventID).ID {
		t.Fatalf("waiting entries: %+v", list)
	}
	// Nothing free: "notify next" offers nothing. Users may not use admin paths.
	var n struct {
		OffersMade int `json:"offers_made"`
	}
	expect(t, call(t, "POST", "/api/v1/admin/waitlist/notify/"+eventID, admin, nil), 200).Decode(t, &n)
	if n.OffersMade != 0 {
		t.Fatalf("notify with no seats: %+v", n)
	}
	expectProblem(t, call(t, "GET", "/api/v1/admin/waitlist/stats/"+eventID, users[0].AccessToken, nil), 403)

	// Leaving with an open offer releases its seat at once.
	expect(t, call(t, "DELETE", "/api/v1/waitlist/"+eventID, users[3].AccessToken, nil), 204)
	if e := wlStatus(t, users[3].AccessToken, eventID); e.Status != "CANCELLED" {
		t.Fatalf("after leaving: %+v", e)
	}
	bkWaitSeats(t, admin, eventID, []string{seat(3)}, "AVAILABLE")
}

// TestWaitlistRejectsBadInput: every malformed or refused request is a 4xx problem.
func TestWaitlistRejectsBadInput(t *testing.T) {
	admin := adminToken(t)
	tpl := map[string]any{"name": "E2E Waitlist Tiny " + randHex(6), "layout_type": "GENERAL", "sections": []any{
		map[string]any{"name": "Floor", "row_start": "A", "row_end": "A", "seats_per_row": 1}}}
	eventID, secs := bkEvent(t, admin, tpl, 10000, 72*time.Hour, nil)
	buyer := registerUser(t)
	hold, _ := bkHold(t, buyer.AccessToken, eventID, []string{secs[0].SeatID("A", 1)})
	bkConfirm(t, buyer.AccessToken, hold)
	u := registerUser(t)
	tok := u.AccessToken
	unknown := "0192a5d2-0000-7000-8000-00000000abcd"
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"quantity 0", "POST", "/api/v1/waitlist", map[string]any{"event_id": eventID, "quantity": 0}, 422},
		{"quantity 11", "POST", "/api/v1/waitlist", map[string]any{"event_id": eventID, "quantity": 11}, 422},
		{"quantity missing", "POST", "/api/v1/waitlist", map[string]any{"event_id": eventID}, 422},
		{"quantity wrong type", "POST", "/api/v1/waitlist", `{"event_id":"` + eventID + `","quantity":"2"}`, 400},
		{"malformed event id", "POST", "/api/v1/waitlist", map[string]any{"event_id": "nope", "quantity": 1}, 400},
		{"unknown field", "POST", "/api/v1/waitlist", map[string]any{"event_id": eventID, "quantity": 1, "vip": true}, 400},
		{"malformed json", "POST", "/api/v1/waitlist", `{"event_id":`, 400},
		{"unknown event", "POST", "/api/v1/waitlist", map[string]any{"event_id": unknown, "quantity": 1}, 404},
		{"unknown section", "POST", "/api/v1/waitlist", map[string]any{"event_id": eventID, "quantity": 1, "section_id": unknown}, 404},
		{"leave when not waiting", "DELETE", "/api/v1/waitlist/" + eventID, nil, 404},
		{"leave malformed id", "DELETE", "/api/v1/waitlist/nope", nil, 400},
		{"status never joined", "GET", "/api/v1/waitlist/status/" + eventID, nil, 404},
		{"admin list bad status", "GET", "/api/v1/admin/waitlist/entries/" + eventID + "?status=SOMETIME", nil, 400},
		{"admin list bad limit", "GET", "/api/v1/admin/waitlist/entries/" + eventID + "?limit=1000", nil, 400},
		{"admin stats unknown event", "GET", "/api/v1/admin/waitlist/stats/" + unknown, nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tk := tok
			if len(c.path) > 20 && c.path[:20] == "/api/v1/admin/waitli" {
				tk = admin
			}
			expectProblem(t, call(t, c.method, c.path, tk, c.body), c.status)
		})
	}
	// Joining twice: the second is a conflict; without a token, 401.
	wlJoin(t, tok, eventID, 1)
	expectProblem(t, call(t, "POST", "/api/v1/waitlist", tok, map[string]any{"event_id": eventID, "quantity": 2}), 409)
	expectProblem(t, call(t, "POST", "/api/v1/waitlist", "", map[string]any{"event_id": eventID, "quantity": 1}), 401)
	expect(t, call(t, "DELETE", "/api/v1/waitlist/"+eventID, tok, nil), 204)
	expectProblem(t, call(t, "DELETE", "/api/v1/waitlist/"+eventID, tok, nil), 404)
}
