package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"evently.dev/libs/testkit"
)

// wlEntry is a waitlist entry as GET /waitlist/status/{event_id} shows it.
type wlEntry struct {
	ID       string `json:"id"`
	EventID  string `json:"event_id"`
	Position int    `json:"position"`
	Quantity int    `json:"quantity"`
	Status   string `json:"status"`
	Offer    *struct {
		HoldID    string    `json:"hold_id"`
		SeatIDs   []string  `json:"seat_ids"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"offer"`
	BookingID *string `json:"booking_id"`
}

// wlJoin joins the event's waitlist and expects 201.
func wlJoin(t testing.TB, token, eventID string, quantity int) wlEntry {
	t.Helper()
	var e wlEntry
	expect(t, call(t, "POST", "/api/v1/waitlist", token, map[string]any{"event_id": eventID, "quantity": quantity}), 201).Decode(t, &e)
	return e
}

// wlStatus reads the caller's entry for the event.
func wlStatus(t testing.TB, token, eventID string) wlEntry {
	t.Helper()
	var e wlEntry
	expect(t, call(t, "GET", "/api/v1/waitlist/status/"+eventID, token, nil), 200).Decode(t, &e)
	return e
}

// wlWaitStatus polls the caller's entry until it has the wanted status.
func wlWaitStatus(t testing.TB, token, eventID, want string) wlEntry {
	t.Helper()
	var e wlEntry
	testkit.Eventually(t, 30*time.Second, func() bool {
		e = wlStatus(t, token, eventID)
		return e.Status == want
	}, "waitlist entry of %s %s; last seen: %v", eventID, want, testkit.Lazy(func() string { return fmt.Sprintf("%+v", e) }))
	return e
}

// mailpitAPI is the SMTP catcher's HTTP API that scripts/infra.sh starts.
func mailpitAPI() string {
	if u := os.Getenv("MAILPIT_API"); u != "" {
		return strings.TrimRight(u, "/")
	}
	return "http://127.0.0.1:8025"
}

// mailSubjects lists the subjects of every email Mailpit holds for the address.
func mailSubjects(t testing.TB, addr string) []string {
	t.Helper()
	res, err := http.Get(mailpitAPI() + "/api/v1/search?query=" + url.QueryEscape("to:"+addr))
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Messages []struct {
			Subject string `json:"Subject"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("mailpit search: %v", err)
	}
	out := make([]string, len(body.Messages))
	for i, m := range body.Messages {
		out[i] = m.Subject
	}
	return out
}

// wlWaitMail polls Mailpit until an email to addr has a subject containing part, and
// returns how many such emails there are.
func wlWaitMail(t testing.TB, addr, part string) int {
	t.Helper()
	var subs []string
	n := 0
	testkit.Eventually(t, 30*time.Second, func() bool {
		subs, n = mailSubjects(t, addr), 0
		for _, s := range subs {
			if strings.Contains(s, part) {
				n++
			}
		}
		return n > 0
	}, "an email %q for %s; inbox: %v", part, addr, testkit.Lazy(func() string { return fmt.Sprint(subs) }))
	return n
}
