package e2e

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// invSeatMap reads the seat map and returns each seat's status.
func invSeatMap(t *testing.T, token, eventID string) (map[string]string, map[string]any) {
	t.Helper()
	// no-cache: past the gateway's read cache, so the map shows what the test just did.
	m := expect(t, call(t, "GET", "/api/v1/events/"+eventID+"/venue/layout", token, nil, "Cache-Control", "no-cache"), 200).JSON(t)
	st := map[string]string{}
	for _, s := range m["seats"].([]any) {
		s := s.(map[string]any)
		st[s["seat_id"].(string)] = s["status"].(string)
	}
	return st, m
}

func TestInventorySeatMapHoldReleaseExtend(t *testing.T) {
	admin := adminToken(t)
	eventID, secs := createPublishedEvent(t, admin, map[string]any{"hold_limit_per_user": 4})
	avail := waitLedger(t, eventID)
	if avail["capacity"] != float64(28) || avail["available"] != float64(28) {
		t.Fatalf("availability = %v", avail)
	}
	alice, bob := registerUser(t), registerUser(t)

	expectProblem(t, call(t, "GET", "/api/v1/events/"+eventID+"/venue/layout", "", nil), 401)
	st, m := invSeatMap(t, alice.AccessToken, eventID)
	if len(st) != 28 || len(m["sections"].([]any)) != 2 {
		t.Fatalf("seat map has %d seats: %v", len(st), m["sections"])
	}
	vip := secs[0].FirstSeats(2)
	h := holdSeats(t, alice.AccessToken, eventID, vip)
	if h["total_amount"] != float64(2*secs[0].Price) || h["currency"] != "INR" || h["user_id"] != alice.UserID {
		t.Fatalf("hold = %v", h)
	}
	id := h["hold_id"].(string)
	if st, _ := invSeatMap(t, bob.AccessToken, eventID); st[vip[0]] != "HELD" || st[vip[1]] != "HELD" {
		t.Fatalf("seat map after hold: %s=%s", vip[0], st[vip[0]])
	}
	p := expectProblem(t, call(t, "POST", "/api/v1/seats/hold", bob.AccessToken,
		map[string]any{"event_id": eventID, "seat_ids": []string{vip[1], secs[0].SeatID(secs[0].RowStart, 3)}}), 409)
	if ids, _ := p["conflicting_seat_ids"].([]any); len(ids) != 1 || ids[0] != vip[1] {
		t.Fatalf("conflict = %v", p)
	}
	expectProblem(t, call(t, "POST", "/api/v1/seats/hold", alice.AccessToken,
		map[string]any{"event_id": eventID, "seat_ids": secs[1].FirstSeats(3)}), 422) // 2 + 3 > 4

	if v := expect(t, call(t, "GET", "/api/v1/seats/hold/"+id+"/validate", alice.AccessToken, nil), 200).JSON(t); v["valid"] != true {
		t.Fatalf("validate = %v", v)
	}
	x := expect(t, call(t, "POST", "/api/v1/seats/hold/"+id+"/extend", alice.AccessToken, map[string]any{"seconds": 900}), 200).JSON(t)
	if x["expires_at"].(string) <= h["expires_at"].(string) {
		t.Fatalf("extend did not move the expiry: %v → %v", h["expires_at"], x["expires_at"])
	}
	list := expect(t, call(t, "GET", "/api/v1/users/holds", alice.AccessToken, nil), 200).JSON(t)
	if items := list["items"].([]any); len(items) != 1 {
		t.Fatalf("alice's holds = %v", list)
	}
	expectProblem(t, call(t, "DELETE", "/api/v1/seats/hold/"+id, bob.AccessToken, nil), 404)
	expect(t, call(t, "DELETE", "/api/v1/seats/hold/"+id, alice.AccessToken, nil), 204)
	if st, _ := invSeatMap(t, bob.AccessToken, eventID); st[vip[0]] != "AVAILABLE" {
		t.Fatalf("seat after release: %s", st[vip[0]])
	}
	holdSeats(t, bob.AccessToken, eventID, vip)
	expectProblem(t, call(t, "POST", "/api/v1/seats/hold", bob.AccessToken, map[string]any{"event_id": "nope", "seat_ids": vip}), 400)
}

func TestInventoryBestAvailableThroughGateway(t *testing.T) {
	admin := adminToken(t)
	eventID, secs := createPublishedEvent(t, admin, nil)
	u := registerUser(t)
	general := secs[1] // rows B–C × 10
	h := holdBestAvailable(t, u.AccessToken, eventID, general.ID, 4)
	got := heldSeatIDs(h)
	want := []string{general.SeatID(general.RowStart, 4), general.SeatID(general.RowStart, 5),
		general.SeatID(general.RowStart, 6), general.SeatID(general.RowStart, 7)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("best available = %v, want front-row centre %v", got, want)
	}
	expectProblem(t, call(t, "POST", "/api/v1/seats/hold", u.AccessToken,
		map[string]any{"event_id": eventID, "section_id": general.ID, "quantity": 0}), 422)
}

func TestInventoryStreamThroughGateway(t *testing.T) {
	admin := adminToken(t)
	eventID, secs := createPublishedEvent(t, admin, nil)
	waitLedger(t, eventID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", baseURL+"/api/v1/events/"+eventID+"/availability/stream", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %v", res.StatusCode, res.Header)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for l := range lines {
		if strings.HasPrefix(l, ": connected") {
			break
		}
	}
	u := registerUser(t)
	seats := secs[1].FirstSeats(2)
	holdSeats(t, u.AccessToken, eventID, seats)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			if strings.HasPrefix(l, "data: ") && strings.Contains(l, `"held"`) && strings.Contains(l, seats[0]) {
				return
			}
		case <-ctx.Done():
			t.Fatal("no held change on the stream through the gateway")
		}
	}
}
