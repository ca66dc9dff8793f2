package e2e

import (
	"fmt"
	"net/url"
	"testing"
	"time"
)

// TestAnalyticsMatchesBookingAndLedger runs a scripted sale through the gateway — two
// events under different cancellation policies, several bookings, cancellations with a
// percentage and a fixed fee, and a third event cancelled by the organiser with its
// bookings refunded — and then polls (analytics is eventually consistent) until each
// event's analytics equal booking's own sums (schema booking) and inventory's SOLD seats
// (schema inventory). The revenue report grouped by event must agree too.
func TestAnalyticsMatchesBookingAndLedger(t *testing.T) {
	db := anDB(t)
	admin := adminToken(t)
	far := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	pctFee := map[string]any{"allow_cancellation": true, "cancellation_deadline": far, "fee_type": "PERCENTAGE",
		"fee_amount": 10, "refund_tiers": []any{}, "requires_approval": false, "refund_processing_days": 5}
	fixedFee := map[string]any{"allow_cancellation": true, "cancellation_deadline": far, "fee_type": "FIXED",
		"fee_amount": 5000, "refund_tiers": []any{}, "requires_approval": false, "refund_processing_days": 5}
	evA, secA := bkEvent(t, admin, hallTemplateBody(), 100000, 20*24*time.Hour, pctFee)
	evB, secB := bkEvent(t, admin, hallTemplateBody(), 40000, 20*24*time.Hour, fixedFee)
	evC, secC := bkEvent(t, admin, hallTemplateBody(), 25000, 20*24*time.Hour, nil)
	u1, u2, u3 := registerUser(t), registerUser(t), registerUser(t)

	book := func(u authResult, ev string, seats []string) bkBooking {
		t.Helper()
		hold, _ := bkHold(t, u.AccessToken, ev, seats)
		return bkConfirm(t, u.AccessToken, hold)
	}
	vipA, genA := secA[0].FirstSeats(8), secA[1].FirstSeats(10)
	book(u1, evA, vipA[:2])
	a2 := book(u2, evA, genA[:3])
	book(u3, evA, genA[3:4])
	b1 := book(u1, evB, secB[1].FirstSeats(2))
	book(u2, evB, secB[0].FirstSeats(1))
	book(u3, evC, secC[1].FirstSeats(2))
	book(u1, evC, secC[0].FirstSeats(1))

	cancel := func(u authResult, b bkBooking) {
		t.Helper()
		expect(t, bkCancelCall(t, "/api/v1/bookings/"+b.BookingID+"/cancel", u.AccessToken, nil), 200)
	}
	cancel(u2, a2) // 10 % fee
	cancel(u1, b1) // fixed fee
	expect(t, call(t, "POST", "/api/v1/admin/events/"+evC+"/cancel", admin, map[string]any{"reason": "e2e"}), 200)

	// Wait until booking has refunded every booking of the cancelled event; only then are
	// booking's sums final.
	anWaitFor(t, 30*time.Second, "booking cancels event C's bookings", func() bool {
		tr := anTruthOf(t, db, evC)
		return tr.Bookings == 2 && tr.Cancellations == 2 && tr.LedgerSold == 0
	})

	for _, ev := range []string{evA, evB, evC} {
		var last string
		anWaitFor(t, 30*time.Second, "analytics of "+ev+" equal booking and ledger", func() bool {
			var a anEvent
			r := call(t, "GET", "/api/v1/admin/events/"+ev+"/analytics", admin, nil)
			if r.Status == 404 {
				return false // no fact has reached analytics yet
			}
			expect(t, r, 200).Decode(t, &a)
			ok, diff := anMatches(a, anTruthOf(t, db, ev))
			last = diff
			return ok
		}, &last)
	}
	var c anEvent
	expect(t, call(t, "GET", "/api/v1/admin/events/"+evC+"/analytics", admin, nil), 200).Decode(t, &c)
	if c.Status != "CANCELLED" || c.SeatsSold != 0 || c.Bookings != 2 {
		t.Errorf("cancelled event's analytics: %+v", c)
	}
	trA := anTruthOf(t, db, evA)
	if trA.Refunds == 0 || trA.Refunds == trA.Gross || trA.Cancellations != 1 {
		t.Errorf("the scripted sale did not produce a partial refund on A: %+v", trA)
	}

	// The revenue report by event, over today (in the reporting zone the answer names),
	// agrees with booking for each of the three events.
	from := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	to := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	seen := map[string]bool{}
	for offset := 0; ; offset += 100 {
		var rv struct {
			Items []struct {
				Group string `json:"group"`
				anMoney
			} `json:"items"`
			Page struct{ Total int } `json:"page"`
		}
		expect(t, call(t, "GET", fmt.Sprintf("/api/v1/admin/analytics/revenue?group_by=event&from=%s&to=%s&offset=%d", from, to, offset),
			admin, nil), 200).Decode(t, &rv)
		for _, it := range rv.Items {
			for _, ev := range []string{evA, evB, evC} {
				if it.Group != ev {
					continue
				}
				tr := anTruthOf(t, db, ev)
				seen[ev] = true
				if it.Bookings != tr.Bookings || it.Gross != tr.Gross || it.Refunds != tr.Refunds || it.Currency != tr.Currency {
					t.Errorf("revenue row for %s: %+v, booking says %+v", ev, it.anMoney, tr)
				}
			}
		}
		if offset+100 >= rv.Page.Total {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("revenue by event lists %d of the 3 events", len(seen))
	}

	// The overview and the live view answer, and count at least this test's sale.
	var ov struct {
		Events   int64 `json:"events"`
		Bookings int64 `json:"bookings"`
	}
	expect(t, call(t, "GET", "/api/v1/admin/events/analytics", admin, nil), 200).Decode(t, &ov)
	if ov.Events < 3 || ov.Bookings < 7 {
		t.Errorf("overview %+v misses this test's sale", ov)
	}
	var live struct {
		Windows []struct {
			Minutes  int   `json:"minutes"`
			Bookings int64 `json:"bookings"`
		} `json:"windows"`
	}
	expect(t, call(t, "GET", "/api/v1/admin/analytics/live", admin, nil), 200).Decode(t, &live)
	if len(live.Windows) != 3 || live.Windows[2].Bookings < 7 {
		t.Errorf("live view %+v misses this test's bookings in the last 15 minutes", live)
	}
}

// TestAnalyticsRefusesBadQueries checks 400 problems for bad parameters and that only
// admins may read analytics, through the gateway.
func TestAnalyticsRefusesBadQueries(t *testing.T) {
	admin := adminToken(t)
	for _, path := range []string{
		"/api/v1/admin/analytics/revenue?from=2026-02-01&to=2026-01-01",
		"/api/v1/admin/analytics/revenue?group_by=year",
		"/api/v1/admin/analytics/revenue?from=2015-01-01&to=2025-01-01",
		"/api/v1/admin/analytics/revenue?from=" + url.QueryEscape("last tuesday"),
		"/api/v1/admin/analytics/popular-events?limit=1000",
		"/api/v1/admin/analytics/popular-events?by=likes",
		"/api/v1/admin/events/not-a-uuid/analytics",
	} {
		expectProblem(t, call(t, "GET", path, admin, nil), 400)
	}
	expectProblem(t, call(t, "GET", "/api/v1/admin/events/00000000-0000-7000-8000-000000000000/analytics", admin, nil), 404)
	user := registerUser(t)
	expectProblem(t, call(t, "GET", "/api/v1/admin/analytics/live", user.AccessToken, nil), 403)
	expectProblem(t, call(t, "GET", "/api/v1/admin/events/analytics", "", nil), 401)
	expect(t, call(t, "GET", "/api/v1/admin/analytics/popular-events?by=fill_rate&limit=100", admin, nil), 200)
}
