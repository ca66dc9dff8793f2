package http_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts"
	"evently.dev/libs/testkit"

	"evently.dev/services/inventory/internal/config"
	"evently.dev/services/inventory/internal/inventorytest"
)

func user() string { return uuid.Must(uuid.NewV7()).String() }

func hold(t *testing.T, env *inventorytest.Env, userID string, body any) (inventorytest.Response, map[string]any) {
	t.Helper()
	r := env.Call(t, "POST", "/api/v1/seats/hold", userID, body)
	if r.Status != 201 {
		return r, nil
	}
	return r, r.JSON(t)
}

func mustHold(t *testing.T, env *inventorytest.Env, userID string, body any) map[string]any {
	t.Helper()
	r, m := hold(t, env, userID, body)
	if r.Status != 201 {
		t.Fatalf("hold: %d %s", r.Status, r.Body)
	}
	return m
}

func commit(t *testing.T, env *inventorytest.Env, holdID, bookingID, userID string) inventorytest.Response {
	t.Helper()
	return env.Call(t, "POST", "/internal/v1/holds/"+holdID+"/commit", "service:booking",
		map[string]any{"booking_id": bookingID, "user_id": userID})
}

func ledgerStatus(t *testing.T, env *inventorytest.Env, eventID string) map[string]int {
	t.Helper()
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	if err := env.DB.NewRaw(`SELECT status, count(*) AS n FROM seats WHERE event_id = ? GROUP BY status`, eventID).
		Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

func TestIntegrationLedgerBuiltOnceFromEventPublished(t *testing.T) {
	env := inventorytest.New(t)
	p := inventorytest.EventPublished(inventorytest.Layout{Sections: 2, Rows: 3, SeatsPerRow: 10, Price: 5000}, 6)
	env.Deliver(t, contracts.TopicCatalogEvents, contracts.TypeEventPublished, p)
	// A redelivery under a new ce_id (e.g. catalog re-sent it) must change nothing either.
	env.Deliver(t, contracts.TopicCatalogEvents, contracts.TypeEventPublished, p)
	if got := ledgerStatus(t, env, p.EventID); got["AVAILABLE"] != 60 || len(got) != 1 {
		t.Fatalf("ledger = %v, want 60 AVAILABLE", got)
	}
	r := env.Call(t, "GET", "/api/v1/events/"+p.EventID+"/availability", "", nil)
	if r.Status != 200 {
		t.Fatalf("availability: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["available"] != float64(60) || m["capacity"] != float64(60) || len(m["sections"].([]any)) != 2 {
		t.Fatalf("availability = %s", r.Body)
	}
}

func TestIntegrationHoldLifecycle(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 2, Rows: 5, SeatsPerRow: 10, Price: 4500}, 6)
	u := user()
	seats := inventorytest.SeatIDs(p, 0, 0, 1, 2)
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": seats})
	if h["total_amount"] != float64(9000) || h["currency"] != "EUR" || h["user_id"] != u || h["ttl_seconds"].(float64) < 590 {
		t.Fatalf("hold = %v", h)
	}
	id := h["hold_id"].(string)

	// Someone else cannot take one of them: 409 naming the seat.
	r, _ := hold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": []string{seats[1], inventorytest.SeatIDs(p, 0, 0, 3, 1)[0]}})
	if r.Status != 409 || !strings.Contains(string(r.Body), seats[1]) || !strings.Contains(string(r.Body), "conflicting_seat_ids") {
		t.Fatalf("conflicting hold: %d %s", r.Status, r.Body)
	}
	// All-or-nothing: the free seat of that refused request is still free.
	mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 3, 1)})

	// Validate, list, extend.
	v := env.Call(t, "GET", "/api/v1/seats/hold/"+id+"/validate", u, nil).JSON(t)
	if v["valid"] != true {
		t.Fatalf("validate = %v", v)
	}
	if v := env.Call(t, "GET", "/api/v1/seats/hold/"+id+"/validate", user(), nil).JSON(t); v["valid"] != false {
		t.Fatalf("validate by a stranger = %v", v)
	}
	list := env.Call(t, "GET", "/api/v1/users/holds", u, nil).JSON(t)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["hold_id"] != id {
		t.Fatalf("list = %v", list)
	}
	before := h["expires_at"].(string)
	x := env.Call(t, "POST", "/api/v1/seats/hold/"+id+"/extend", u, map[string]any{"seconds": 1200})
	if x.Status != 200 || x.JSON(t)["expires_at"].(string) <= before {
		t.Fatalf("extend: %d %s (before %s)", x.Status, x.Body, before)
	}
	if x := env.Call(t, "POST", "/api/v1/seats/hold/"+id+"/extend", u, nil); x.Status != 200 {
		t.Fatalf("extend without body: %d %s", x.Status, x.Body)
	}
	// Total life is capped at 30 minutes: a further extension is refused once there.
	env.Call(t, "POST", "/api/v1/seats/hold/"+id+"/extend", u, map[string]any{"seconds": 1800})
	if x := env.Call(t, "POST", "/api/v1/seats/hold/"+id+"/extend", u, map[string]any{"seconds": 60}); x.Status != 409 {
		t.Fatalf("extend past max lifetime: %d %s", x.Status, x.Body)
	}
	if x := env.Call(t, "POST", "/api/v1/seats/hold/"+id+"/extend", user(), nil); x.Status != 404 {
		t.Fatalf("extend by stranger: %d %s", x.Status, x.Body)
	}

	// Seat map shows the hold.
	lay := env.Call(t, "GET", "/api/v1/events/"+p.EventID+"/venue/layout", u, nil)
	if lay.Status != 200 {
		t.Fatalf("layout: %d %s", lay.Status, lay.Body)
	}
	m := lay.JSON(t)
	statuses := map[string]string{}
	for _, s := range m["seats"].([]any) {
		s := s.(map[string]any)
		statuses[s["seat_id"].(string)] = s["status"].(string)
	}
	if len(statuses) != 100 || statuses[seats[0]] != "HELD" || statuses[inventorytest.SeatIDs(p, 1, 0, 1, 1)[0]] != "AVAILABLE" {
		t.Fatalf("layout statuses wrong: %d seats, %s=%s", len(statuses), seats[0], statuses[seats[0]])
	}

	// Only the owner releases; then the seats are free again.
	if r := env.Call(t, "DELETE", "/api/v1/seats/hold/"+id, user(), nil); r.Status != 404 {
		t.Fatalf("release by stranger: %d", r.Status)
	}
	if r := env.Call(t, "DELETE", "/api/v1/seats/hold/"+id, u, nil); r.Status != 204 {
		t.Fatalf("release: %d %s", r.Status, r.Body)
	}
	if r := env.Call(t, "DELETE", "/api/v1/seats/hold/"+id, u, nil); r.Status != 404 {
		t.Fatalf("second release: %d", r.Status)
	}
	mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": seats})
	types := env.OutboxTypes(t)
	if types[contracts.TypeHoldCreated] != 3 || types[contracts.TypeHoldReleased] != 1 {
		t.Fatalf("outbox = %v", types)
	}
}

func TestIntegrationPerUserLimit(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 2, SeatsPerRow: 10, Price: 1000}, 4)
	u := user()
	mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 1, 3)})
	r, _ := hold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 1, 1, 2)})
	if r.Status != 422 || !strings.Contains(string(r.Body), "hold_limit_exceeded") {
		t.Fatalf("over the limit across holds: %d %s", r.Status, r.Body)
	}
	mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 1, 1, 1)})
	if r, _ := hold(t, env, u, map[string]any{"event_id": p.EventID, "section_id": p.Sections[0].SectionID, "quantity": 5}); r.Status != 422 {
		t.Fatalf("quantity over the limit: %d %s", r.Status, r.Body)
	}
	// A waitlist offer for the same user counts like any hold: over the limit it is refused.
	r = env.Call(t, "POST", "/internal/v1/holds", "service:waitlist", map[string]any{"event_id": p.EventID, "user_id": u,
		"seat_ids": inventorytest.SeatIDs(p, 0, 1, 5, 2), "ttl_seconds": 900, "purpose": "WAITLIST_OFFER"})
	if r.Status != 422 || !strings.Contains(string(r.Body), "hold_limit_exceeded") {
		t.Fatalf("offer hold over the limit: %d %s", r.Status, r.Body)
	}
	v := user()
	r = env.Call(t, "POST", "/internal/v1/holds", "service:waitlist", map[string]any{"event_id": p.EventID, "user_id": v,
		"seat_ids": inventorytest.SeatIDs(p, 0, 1, 5, 5), "ttl_seconds": 900, "purpose": "WAITLIST_OFFER"})
	if r.Status != 422 {
		t.Fatalf("offer of more seats than the limit: %d %s", r.Status, r.Body)
	}
	r = env.Call(t, "POST", "/internal/v1/holds", "service:waitlist", map[string]any{"event_id": p.EventID, "user_id": v,
		"seat_ids": inventorytest.SeatIDs(p, 0, 1, 5, 2), "ttl_seconds": 900, "purpose": "WAITLIST_OFFER"})
	if r.Status != 201 || r.JSON(t)["purpose"] != "WAITLIST_OFFER" {
		t.Fatalf("offer hold within the limit: %d %s", r.Status, r.Body)
	}
}

// TestIntegrationPerUserLimitCountsPurchases checks that bought seats count towards the
// limit until their booking is cancelled, also after Redis forgot everything.
func TestIntegrationPerUserLimitCountsPurchases(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 2, SeatsPerRow: 10, Price: 1000}, 4)
	u := user()
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 1, 3)})
	booking := uuid.NewString()
	if r := commit(t, env, h["hold_id"].(string), booking, u); r.Status != 200 {
		t.Fatalf("commit: %d %s", r.Status, r.Body)
	}
	if r, _ := hold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 1, 1, 2)}); r.Status != 422 {
		t.Fatalf("3 bought + 2 held under a limit of 4: %d %s", r.Status, r.Body)
	}
	env.FlushPrefix(t) // Redis loses its state: the ledger still knows the purchase
	if r, _ := hold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 1, 1, 2)}); r.Status != 422 {
		t.Fatalf("after Redis forgot: %d %s", r.Status, r.Body)
	}
	one := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 1, 1, 1)})
	if r := env.Call(t, "DELETE", "/api/v1/seats/hold/"+one["hold_id"].(string), u, nil); r.Status != 204 {
		t.Fatalf("release: %d %s", r.Status, r.Body)
	}
	// Buying the limit again and again is what the limit stops; a cancelled booking frees it.
	if r := env.Call(t, "POST", "/internal/v1/bookings/"+booking+"/release", "service:booking", nil); r.Status != 200 {
		t.Fatalf("release booking: %d %s", r.Status, r.Body)
	}
	mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 1, 1, 4)})
}

func TestIntegrationBestAvailable(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 3, SeatsPerRow: 10, Price: 1000}, 10)
	sec := p.Sections[0].SectionID
	h := mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 4})
	var got []string
	for _, s := range h["seats"].([]any) {
		got = append(got, s.(map[string]any)["seat_id"].(string))
	}
	want := inventorytest.SeatIDs(p, 0, 0, 4, 4) // front row, centre: seats 4-7 of 10
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("best available = %v, want %v", got, want)
	}
	// Front row now has 3 + 3 free: 4 together must come from row 2.
	h = mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 4})
	if s := h["seats"].([]any)[0].(map[string]any); s["row"] != "2" {
		t.Fatalf("second best available in row %v, want 2", s["row"])
	}
	mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 10})
	// Row 1: 3+3 free, row 2: 3+3 free, row 3 taken. 7 together cannot be had …
	r, _ := hold(t, env, user(), map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 7})
	if r.Status != 409 || !strings.Contains(string(r.Body), "not_enough_seats") {
		t.Fatalf("not enough adjacent: %d %s", r.Status, r.Body)
	}
	// … but split it can.
	h = mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 7, "allow_split": true})
	if len(h["seats"].([]any)) != 7 {
		t.Fatalf("split hold = %v", h)
	}
	if r, _ := hold(t, env, user(), map[string]any{"event_id": p.EventID, "section_id": uuid.NewString(), "quantity": 1}); r.Status != 404 {
		t.Fatalf("unknown section: %d %s", r.Status, r.Body)
	}
}

// TestIntegrationRacingHoldsNeverDoubleHold races 200 buyers for overlapping seats among
// 50 and then checks Redis: every seat is claimed by at most one hold, every successful
// hold owns all its seats, and no refused request left a seat behind.
func TestIntegrationRacingHoldsNeverDoubleHold(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 5, SeatsPerRow: 10, Price: 1000}, 10)
	all := make([]string, 0, 50)
	for r := range 5 {
		all = append(all, inventorytest.SeatIDs(p, 0, r, 1, 10)...)
	}
	type result struct {
		seats  []string
		holdID string
		status int
	}
	results := make([]result, 200)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			n := 1 + rng.IntN(4)
			from := rng.IntN(len(all) - n + 1)
			seats := append([]string(nil), all[from:from+n]...)
			<-start
			r, err := env.Request("POST", "/api/v1/seats/hold", user(), map[string]any{"event_id": p.EventID, "seat_ids": seats})
			if err != nil {
				t.Error(err)
				return
			}
			res := result{seats: seats, status: r.Status}
			if r.Status == 201 {
				res.holdID = r.JSON(t)["hold_id"].(string)
			}
			results[i] = res
		})
	}
	close(start)
	wg.Wait()

	ctx := context.Background()
	owner := map[string]string{}
	for _, s := range all {
		v, err := env.Redis.Get(ctx, env.Holds.SeatKey(uuid.MustParse(p.EventID), s)).Result()
		if err == nil {
			owner[s] = v
		}
	}
	claimed := map[string]string{}
	wins := 0
	for _, r := range results {
		switch r.status {
		case 201:
			wins++
			for _, s := range r.seats {
				if prev, dup := claimed[s]; dup {
					t.Fatalf("seat %s granted to holds %s and %s", s, prev, r.holdID)
				}
				claimed[s] = r.holdID
				if owner[s] != r.holdID {
					t.Fatalf("hold %s was granted %s but Redis says %q", r.holdID, s, owner[s])
				}
			}
		case 409:
		default:
			t.Fatalf("unexpected status %d", r.status)
		}
	}
	for s, h := range owner {
		if claimed[s] != h {
			t.Fatalf("seat %s held by %s, which no successful request got", s, h)
		}
	}
	if wins == 0 || wins == 200 {
		t.Fatalf("%d winners: the race did not race", wins)
	}
	// Every winner commits, twice at once (a retrying booking): the ledger ends with
	// exactly the winners' seats SOLD, each to its own booking.
	booking := map[string]string{}
	holder := map[string]string{}
	for _, r := range results {
		if r.status == 201 {
			booking[r.holdID] = uuid.NewString()
		}
	}
	var cw sync.WaitGroup
	for _, r := range results {
		if r.status != 201 {
			continue
		}
		var owner string
		if err := env.Redis.HGet(ctx, env.Holds.HoldKey(uuid.MustParse(p.EventID), uuid.MustParse(r.holdID)), "user").Scan(&owner); err != nil {
			t.Fatal(err)
		}
		holder[r.holdID] = owner
		for range 2 {
			cw.Go(func() {
				res, err := env.Request("POST", "/internal/v1/holds/"+r.holdID+"/commit", "service:booking",
					map[string]any{"booking_id": booking[r.holdID], "user_id": owner})
				if err != nil || res.Status != 200 {
					t.Errorf("commit %s: %v %d %s", r.holdID, err, res.Status, res.Body)
				}
			})
		}
	}
	cw.Wait()
	var sold []struct {
		SeatID    string `bun:"seat_id"`
		BookingID string `bun:"booking_id"`
	}
	if err := env.DB.NewRaw(`SELECT seat_id, booking_id::text FROM seats WHERE event_id = ? AND status = 'SOLD'`, p.EventID).Scan(ctx, &sold); err != nil {
		t.Fatal(err)
	}
	if len(sold) != len(claimed) {
		t.Fatalf("ledger sold %d seats, winners held %d", len(sold), len(claimed))
	}
	for _, s := range sold {
		if booking[claimed[s.SeatID]] != s.BookingID {
			t.Fatalf("seat %s sold to booking %s, want %s", s.SeatID, s.BookingID, booking[claimed[s.SeatID]])
		}
	}
	t.Logf("%d of 200 racing holds won, %d of 50 seats held", wins, len(owner))
}

func TestIntegrationCommitIsIdempotentAndRefusesStaleHolds(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 2, SeatsPerRow: 10, Price: 2500}, 6)
	u := user()
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 1, 2)})
	id := h["hold_id"].(string)
	booking := uuid.NewString()

	if r := commit(t, env, id, booking, user()); r.Status != 409 && r.Status != 404 {
		t.Fatalf("commit for another user: %d %s", r.Status, r.Body)
	}
	// A caller that expects another event is refused before anything is sold.
	if r := env.Call(t, "POST", "/internal/v1/holds/"+id+"/commit", "service:booking",
		map[string]any{"booking_id": booking, "user_id": u, "event_id": uuid.NewString()}); r.Status != 422 ||
		!strings.Contains(string(r.Body), "event_mismatch") {
		t.Fatalf("commit for another event: %d %s", r.Status, r.Body)
	}
	if r := env.Call(t, "POST", "/internal/v1/holds/"+id+"/commit", "service:booking",
		map[string]any{"booking_id": booking, "user_id": u, "event_id": "nope"}); r.Status != 400 {
		t.Fatalf("commit with a bad event id: %d %s", r.Status, r.Body)
	}
	first := commit(t, env, id, booking, u)
	if first.Status != 200 {
		t.Fatalf("commit: %d %s", first.Status, first.Body)
	}
	fm := first.JSON(t)
	if fm["total_amount"] != float64(5000) || fm["replayed"] != false || len(fm["seats"].([]any)) != 2 {
		t.Fatalf("commit = %s", first.Body)
	}
	// Retries, even after Redis forgot everything, answer the same commit.
	env.FlushPrefix(t)
	for range 3 {
		r := commit(t, env, id, booking, u)
		m := r.JSON(t)
		if r.Status != 200 || m["replayed"] != true || m["total_amount"] != fm["total_amount"] || m["committed_at"] != fm["committed_at"] {
			t.Fatalf("retry: %d %s", r.Status, r.Body)
		}
	}
	// The same user's second booking attempt of the hold learns the sale and its booking.
	if r := commit(t, env, id, uuid.NewString(), u); r.Status != 200 || r.JSON(t)["booking_id"] != booking || r.JSON(t)["replayed"] != true {
		t.Fatalf("same hold, same user, other booking: %d %s", r.Status, r.Body)
	}
	if r := commit(t, env, id, uuid.NewString(), user()); r.Status != 409 && r.Status != 404 {
		t.Fatalf("same hold, other user: %d %s", r.Status, r.Body)
	}
	if got := ledgerStatus(t, env, p.EventID); got["SOLD"] != 2 {
		t.Fatalf("ledger = %v", got)
	}
	if n := env.OutboxTypes(t)[contracts.TypeSeatsSold]; n != 1 {
		t.Fatalf("%d seats.sold, want 1", n)
	}
	// The flushed sold set is rebuilt from the ledger: the sold seats cannot be held again.
	r, _ := hold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 2, 2)})
	if r.Status != 409 || !strings.Contains(string(r.Body), inventorytest.SeatIDs(p, 0, 0, 2, 1)[0]) {
		t.Fatalf("hold of a sold seat after flush: %d %s", r.Status, r.Body)
	}
	// A booking id cannot commit a second hold.
	h2 := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 1, 1, 1)})
	if r := commit(t, env, h2["hold_id"].(string), booking, u); r.Status != 409 {
		t.Fatalf("booking reused: %d %s", r.Status, r.Body)
	}
	if r := commit(t, env, uuid.NewString(), uuid.NewString(), u); r.Status != 409 {
		t.Fatalf("unknown hold: %d %s", r.Status, r.Body)
	}
	if r := env.Call(t, "POST", "/internal/v1/holds/"+id+"/commit", "", map[string]any{"booking_id": booking, "user_id": u}); r.Status != 401 {
		t.Fatalf("unsigned internal call: %d", r.Status)
	}
}

// TestIntegrationLedgerRefusesSecondSaleWhenRedisForgets simulates Redis losing a hold:
// two users end up with valid holds on the same seat; the ledger sells it once.
func TestIntegrationLedgerRefusesSecondSaleWhenRedisForgets(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 10, Price: 1000}, 6)
	ctx := context.Background()
	seat := inventorytest.SeatIDs(p, 0, 0, 5, 1)
	a, b := user(), user()
	ha := mustHold(t, env, a, map[string]any{"event_id": p.EventID, "seat_ids": seat})
	ev := uuid.MustParse(p.EventID)
	holdKey := env.Holds.HoldKey(ev, uuid.MustParse(ha["hold_id"].(string)))
	dump, err := env.Redis.Dump(ctx, holdKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	indexKey := env.Prefix + "inv:user:{" + a + "}:holds"
	index, err := env.Redis.Dump(ctx, indexKey).Result()
	if err != nil {
		t.Fatal(err)
	}

	env.FlushPrefix(t) // Redis forgets A's hold between the two users' holds
	hb := mustHold(t, env, b, map[string]any{"event_id": p.EventID, "seat_ids": seat})
	// Bring A's hold record back: both now hold the seat as far as Redis knows.
	if err := env.Redis.Restore(ctx, holdKey, 10*time.Minute, dump).Err(); err != nil {
		t.Fatal(err)
	}
	if err := env.Redis.Restore(ctx, indexKey, 10*time.Minute, index).Err(); err != nil {
		t.Fatal(err)
	}
	if r := commit(t, env, hb["hold_id"].(string), uuid.NewString(), b); r.Status != 200 {
		t.Fatalf("first commit: %d %s", r.Status, r.Body)
	}
	env.FlushPrefix(t) // and Redis forgets again between hold and commit
	if err := env.Redis.Restore(ctx, holdKey, 10*time.Minute, dump).Err(); err != nil {
		t.Fatal(err)
	}
	if err := env.Redis.Restore(ctx, indexKey, 10*time.Minute, index).Err(); err != nil {
		t.Fatal(err)
	}
	r := commit(t, env, ha["hold_id"].(string), uuid.NewString(), a)
	if r.Status != 409 || !strings.Contains(string(r.Body), "seats_unavailable") || !strings.Contains(string(r.Body), seat[0]) {
		t.Fatalf("second sale of %s: %d %s", seat[0], r.Status, r.Body)
	}
	var sold int
	if err := env.DB.NewRaw(`SELECT count(*) FROM seats WHERE event_id = ? AND status = 'SOLD'`, p.EventID).Scan(ctx, &sold); err != nil {
		t.Fatal(err)
	}
	var commits int
	if err := env.DB.NewRaw(`SELECT count(*) FROM commits WHERE event_id = ?`, p.EventID).Scan(ctx, &commits); err != nil {
		t.Fatal(err)
	}
	if sold != 1 || commits != 1 {
		t.Fatalf("sold=%d commits=%d, want 1 and 1", sold, commits)
	}
	// A stale sold set that forgot the sale lets a hold through; the ledger still refuses.
	env.FlushPrefix(t)
	if err := env.Holds.LoadSold(ctx, ev, nil); err != nil { // "nothing sold" — wrong
		t.Fatal(err)
	}
	c := user()
	hc := mustHold(t, env, c, map[string]any{"event_id": p.EventID, "seat_ids": seat})
	if r := commit(t, env, hc["hold_id"].(string), uuid.NewString(), c); r.Status != 409 {
		t.Fatalf("sale through a stale cache: %d %s", r.Status, r.Body)
	}
}

func TestIntegrationCommitAfterExpiryIsRefusedAndExpiryAnnounced(t *testing.T) {
	env := inventorytest.New(t, func(c *config.Config) { c.Hold.TTL = time.Second })
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 10, Price: 1000}, 6)
	u := user()
	seats := inventorytest.SeatIDs(p, 0, 0, 1, 2)
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": seats})
	id := h["hold_id"].(string)
	ctx := context.Background()
	announced := 0
	testkit.Eventually(t, 10*time.Second, func() bool {
		n, err := env.App.SweepOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		announced += n
		return announced > 0
	}, "the lapsed hold to be swept")
	if announced != 1 {
		t.Fatalf("announced %d expiries, want 1", announced)
	}
	if n, _ := env.App.SweepOnce(ctx); n != 0 {
		t.Fatalf("second sweep announced %d", n)
	}
	var payload string
	if err := env.DB.NewRaw(`SELECT payload::text FROM outbox WHERE type = ?`, contracts.TypeHoldExpired).Scan(ctx, &payload); err != nil {
		t.Fatalf("no hold.expired in the outbox: %v", err)
	}
	if !strings.Contains(payload, id) || !strings.Contains(payload, seats[0]) || !strings.Contains(payload, u) {
		t.Fatalf("hold.expired payload = %s", payload)
	}
	if err := contracts.Validate(contracts.TypeHoldExpired, []byte(payload)); err != nil {
		t.Fatal(err)
	}
	if r := commit(t, env, id, uuid.NewString(), u); r.Status != 409 || !strings.Contains(string(r.Body), "hold_expired") {
		t.Fatalf("commit after expiry: %d %s", r.Status, r.Body)
	}
	if v := env.Call(t, "GET", "/api/v1/seats/hold/"+id+"/validate", u, nil).JSON(t); v["valid"] != false {
		t.Fatalf("validate after expiry = %v", v)
	}
	mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": seats})
}

func TestIntegrationBookingCancelledReleasesOnce(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 10, Price: 1000}, 6)
	u := user()
	seats := inventorytest.SeatIDs(p, 0, 0, 1, 3)
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": seats})
	booking := uuid.NewString()
	if r := commit(t, env, h["hold_id"].(string), booking, u); r.Status != 200 {
		t.Fatalf("commit: %d %s", r.Status, r.Body)
	}
	msg := contracts.BookingCancelled{BookingID: booking, EventID: p.EventID, UserID: u, SeatIDs: seats,
		Currency: "EUR", Reason: contracts.CancelByUser, CancelledAt: time.Now().UTC()}
	ceID := uuid.NewString()
	env.Deliver(t, contracts.TopicBookingBookings, contracts.TypeBookingCancelled, msg, ceID)
	env.Deliver(t, contracts.TopicBookingBookings, contracts.TypeBookingCancelled, msg, ceID)     // redelivery
	env.Deliver(t, contracts.TopicBookingBookings, contracts.TypeBookingCancelled, msg)           // republished twin
	r := env.Call(t, "POST", "/internal/v1/bookings/"+booking+"/release", "service:booking", nil) // and the API
	if r.Status != 200 || r.JSON(t)["released"] != false {
		t.Fatalf("API release after event: %d %s", r.Status, r.Body)
	}
	if got := ledgerStatus(t, env, p.EventID); got["AVAILABLE"] != 10 {
		t.Fatalf("ledger = %v", got)
	}
	if n := env.OutboxTypes(t)[contracts.TypeSeatsReleased]; n != 1 {
		t.Fatalf("%d seats.released, want exactly 1", n)
	}
	var payload string
	if err := env.DB.NewRaw(`SELECT payload::text FROM outbox WHERE type = ?`, contracts.TypeSeatsReleased).Scan(context.Background(), &payload); err != nil {
		t.Fatal(err)
	}
	var released contracts.SeatsReleased
	_ = json.Unmarshal([]byte(payload), &released)
	if err := contracts.Validate(contracts.TypeSeatsReleased, []byte(payload)); err != nil || released.SoldTotal != 0 ||
		released.Capacity != 10 || len(released.SeatIDs) != 3 || released.Reason != contracts.ReleaseBookingCancelled {
		t.Fatalf("seats.released = %s (%v)", payload, err)
	}
	mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": seats}) // for sale again
}

func TestIntegrationEventCancelledAndUpdated(t *testing.T) {
	env := inventorytest.New(t, func(c *config.Config) { c.EventCacheTTL = 0 })
	p := env.Publish(t, inventorytest.Layout{Sections: 2, Rows: 1, SeatsPerRow: 10, Price: 1000}, 6)
	env.Deliver(t, contracts.TopicCatalogEvents, contracts.TypeEventUpdated, contracts.EventUpdated{EventID: p.EventID,
		Status: "PUBLISHED", StartsAt: p.StartsAt, EndsAt: p.EndsAt, Currency: "EUR", HoldLimitPerUser: 2,
		Prices: []contracts.SectionPrice{{SectionID: p.Sections[0].SectionID, Price: 7777}}, Version: 2})
	u := user()
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 1, 2)})
	if h["total_amount"] != float64(2*7777) {
		t.Fatalf("repriced hold = %v", h["total_amount"])
	}
	if r, _ := hold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 1, 0, 1, 1)}); r.Status != 422 {
		t.Fatalf("new hold limit not applied: %d", r.Status)
	}
	env.Deliver(t, contracts.TopicCatalogEvents, contracts.TypeEventCancelled, contracts.EventCancelled{EventID: p.EventID, CancelledAt: time.Now()})
	if r, _ := hold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 1, 0, 5, 1)}); r.Status != 409 {
		t.Fatalf("hold on a cancelled event: %d", r.Status)
	}
	if r := commit(t, env, h["hold_id"].(string), uuid.NewString(), u); r.Status != 409 {
		t.Fatalf("commit on a cancelled event: %d %s", r.Status, r.Body)
	}
	if got := ledgerStatus(t, env, p.EventID); got["CLOSED"] != 20 {
		t.Fatalf("ledger = %v", got)
	}
}

func TestIntegrationBadInput(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 10, Price: 1000}, 4)
	u := user()
	sec := p.Sections[0].SectionID
	tests := []struct {
		name, method, path, user string
		body                     any
		status                   int
	}{
		{"anonymous hold", "POST", "/api/v1/seats/hold", "", map[string]any{"event_id": p.EventID, "seat_ids": []string{"x"}}, 401},
		{"malformed json", "POST", "/api/v1/seats/hold", u, `{"event_id":`, 400},
		{"unknown field", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": p.EventID, "seats": []string{"x"}}, 400},
		{"wrong type", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": p.EventID, "seat_ids": "A"}, 400},
		{"bad event uuid", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": "nope", "seat_ids": []string{"x"}}, 400},
		{"empty seats", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": p.EventID, "seat_ids": []string{}}, 422},
		{"duplicate seats", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": p.EventID, "seat_ids": []string{"A-R1-S1", "A-R1-S1"}}, 422},
		{"quantity zero", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 0}, 422},
		{"quantity over limit", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": p.EventID, "section_id": sec, "quantity": 5}, 422},
		{"unknown event", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": uuid.NewString(), "seat_ids": []string{"A-R1-S1"}}, 404},
		{"unknown seat", "POST", "/api/v1/seats/hold", u, map[string]any{"event_id": p.EventID, "seat_ids": []string{"Z-R9-S99"}}, 404},
		{"bad hold id", "DELETE", "/api/v1/seats/hold/nope", u, nil, 400},
		{"unknown hold", "DELETE", "/api/v1/seats/hold/" + uuid.NewString(), u, nil, 404},
		{"extend bad seconds", "POST", "/api/v1/seats/hold/" + uuid.NewString() + "/extend", u, map[string]any{"seconds": 0}, 422},
		{"extend bad type", "POST", "/api/v1/seats/hold/" + uuid.NewString() + "/extend", u, map[string]any{"seconds": "x"}, 400},
		{"layout anonymous", "GET", "/api/v1/events/" + p.EventID + "/venue/layout", "", nil, 401},
		{"layout bad id", "GET", "/api/v1/events/x/venue/layout", u, nil, 400},
		{"layout unknown", "GET", "/api/v1/events/" + uuid.NewString() + "/venue/layout", u, nil, 404},
		{"availability unknown", "GET", "/api/v1/events/" + uuid.NewString() + "/availability", "", nil, 404},
		{"commit bad booking", "POST", "/internal/v1/holds/" + uuid.NewString() + "/commit", "service:booking", map[string]any{"booking_id": "x", "user_id": u}, 400},
		{"commit no user", "POST", "/internal/v1/holds/" + uuid.NewString() + "/commit", "service:booking", map[string]any{"booking_id": uuid.NewString()}, 400},
		{"internal hold bad ttl", "POST", "/internal/v1/holds", "service:waitlist", map[string]any{"event_id": p.EventID, "user_id": u, "seat_ids": []string{"A0-R1-S1"}, "ttl_seconds": -1}, 422},
		{"internal hold bad purpose", "POST", "/internal/v1/holds", "service:waitlist", map[string]any{"event_id": p.EventID, "user_id": u, "seat_ids": []string{"A0-R1-S1"}, "purpose": "X"}, 422},
		{"release bad booking", "POST", "/internal/v1/bookings/x/release", "service:booking", nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Call(t, tt.method, tt.path, tt.user, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("content type %q", r.Header.Get("Content-Type"))
			}
		})
	}
}

func TestIntegrationStreamSeesHoldsAndSales(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 10, Price: 1000}, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", env.URL+"/api/v1/events/"+p.EventID+"/availability/stream", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("X-Accel-Buffering") != "no" ||
		res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("stream answer %d %v", res.StatusCode, res.Header)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(want string) string {
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended waiting for %q", want)
				}
				if strings.HasPrefix(l, "data: ") && strings.Contains(l, want) {
					return l
				}
			case <-ctx.Done():
				t.Fatalf("no %q on the stream", want)
			}
		}
	}
	for l := range lines { // wait until subscribed
		if strings.HasPrefix(l, ": connected") {
			break
		}
	}
	u := user()
	seats := inventorytest.SeatIDs(p, 0, 0, 2, 2)
	h := mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": seats})
	if l := next(`"type":"held"`); !strings.Contains(l, seats[0]) {
		t.Fatalf("held change = %s", l)
	}
	if r := commit(t, env, h["hold_id"].(string), uuid.NewString(), u); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if l := next(`"type":"sold"`); !strings.Contains(l, seats[1]) {
		t.Fatalf("sold change = %s", l)
	}
}

func TestIntegrationLayout50k(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 seats")
	}
	env := inventorytest.New(t)
	start := time.Now()
	p := env.Publish(t, inventorytest.Layout{Sections: 20, Rows: 50, SeatsPerRow: 50, Price: 3000}, 10)
	t.Logf("ledger of 50,000 seats built in %s", time.Since(start))
	u := user()
	mustHold(t, env, u, map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 3, 0, 1, 4)})
	var durs []time.Duration
	for range 20 {
		t0 := time.Now()
		r := env.Call(t, "GET", "/api/v1/events/"+p.EventID+"/venue/layout", u, nil)
		durs = append(durs, time.Since(t0))
		if r.Status != 200 {
			t.Fatalf("layout: %d", r.Status)
		}
		if !strings.Contains(string(r.Body), `"status":"HELD"`) {
			t.Fatal("layout misses the hold")
		}
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	t.Logf("layout of 50,000 seats over HTTP: median %s, max %s", durs[len(durs)/2], durs[len(durs)-1])

	// A client that accepts gzip gets the map compressed, and it decodes to the same JSON.
	req, err := http.NewRequest("GET", env.URL+"/api/v1/events/"+p.EventID+"/venue/layout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	reqID := uuid.NewString()
	req.Header.Set(assertion.HeaderRequestID, reqID)
	assertion.Sign(req.Header, inventorytest.Secret, assertion.Identity{UserID: u, Role: assertion.RoleUser}, reqID, time.Now())
	res, err := env.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("layout with Accept-Encoding gzip: %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !json.Valid(plain) || !strings.Contains(string(plain), `"status":"HELD"`) {
		t.Fatalf("gzipped layout does not decode to the map (%v)", err)
	}
	t.Logf("layout of 50,000 seats: %d bytes, %d gzipped", len(plain), len(raw))
	if got := ledgerStatus(t, env, p.EventID); got["AVAILABLE"] != 50_000 {
		t.Fatalf("ledger = %v", got)
	}
}

// TestIntegrationStreamEndsAfterMaxDuration checks that a stream ends cleanly (a complete
// response, not a cut connection) once SSE_MAX_DURATION has passed.
func TestIntegrationStreamEndsAfterMaxDuration(t *testing.T) {
	env := inventorytest.New(t, func(c *config.Config) { c.SSEMaxDuration = 300 * time.Millisecond })
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 1, SeatsPerRow: 4, Price: 1000}, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", env.URL+"/api/v1/events/"+p.EventID+"/availability/stream", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || !strings.Contains(string(body), ": connected") {
		t.Fatalf("stream did not end cleanly: %v %q", err, body)
	}
}

// TestIntegrationSeatMapGenerationFollowsChanges checks that re-reading an event's seat
// states after the view's TTL keeps the seat map's generation when nothing changed (so the
// rendered map is served again, not rendered anew), and moves it when a seat did.
func TestIntegrationSeatMapGenerationFollowsChanges(t *testing.T) {
	env := inventorytest.New(t)
	p := env.Publish(t, inventorytest.Layout{Sections: 1, Rows: 2, SeatsPerRow: 5, Price: 3000}, 10)
	id := uuid.MustParse(p.EventID)
	ctx := context.Background()
	gen := func() uint64 {
		t.Helper()
		m, err := env.App.SeatMap(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Gen
	}
	first := gen()
	time.Sleep(2 * env.Cfg.AvailabilityCacheTTL)
	if again := gen(); again != first {
		t.Fatalf("generation %d → %d with no seat changed", first, again)
	}
	mustHold(t, env, user(), map[string]any{"event_id": p.EventID, "seat_ids": inventorytest.SeatIDs(p, 0, 0, 1, 1)})
	time.Sleep(2 * env.Cfg.AvailabilityCacheTTL)
	if after := gen(); after == first {
		t.Fatalf("generation stayed %d after a hold", first)
	}
}
