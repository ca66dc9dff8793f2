package mail

import (
	"strings"
	"testing"
)

func TestRenderEveryKind(t *testing.T) {
	d := Data{FirstName: "Ada", EventName: "Jazz <Night>", EventStart: "Fri 1 Jan 2027, 20:00 UTC", Quantity: 2, Position: 3,
		Seats: []SeatLine{{Label: "A-R1-S1", Price: "15.00 EUR"}, {Label: "A-R1-S2", Price: "15.00 EUR"}},
		Total: "30.00 EUR", Deadline: "Fri 1 Jan 2027, 19:00 UTC", HoldID: "0192a5d2-0000-7000-8000-000000000009",
		BookingRef: "EVT-20270101-ABCDEF", Refund: "27.00 EUR", Fee: "3.00 EUR"}
	must := map[string][]string{
		KindJoined:           {"place in the queue: 3", "2 seats"},
		KindOffer:            {"A-R1-S2", "30.00 EUR", d.HoldID, d.Deadline},
		KindOfferExpired:     {d.HoldID},
		KindBookingConfirmed: {"EVT-20270101-ABCDEF", "30.00 EUR"},
		KindBookingCancelled: {"27.00 EUR", "3.00 EUR"},
		KindEventCancelled:   {"cancelled"},
	}
	for _, k := range Kinds {
		t.Run(k, func(t *testing.T) {
			m, err := Render(k, d)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject == "" || strings.Contains(m.Subject, "\n") {
				t.Fatalf("subject %q", m.Subject)
			}
			if !strings.Contains(m.Text, "Hi Ada") || !strings.Contains(m.HTML, "Hi Ada") {
				t.Fatalf("no greeting: %s", m.Text)
			}
			if !strings.Contains(m.HTML, "Jazz &lt;Night&gt;") || strings.Contains(m.HTML, "Jazz <Night>") {
				t.Fatalf("html does not escape the event name: %s", m.HTML)
			}
			for _, w := range must[k] {
				if !strings.Contains(strings.ToLower(m.Text), strings.ToLower(w)) {
					t.Errorf("text lacks %q:\n%s", w, m.Text)
				}
			}
		})
	}
	if _, err := Render("nope", d); err == nil {
		t.Fatal("unknown kind rendered")
	}
	if m, _ := Render(KindJoined, Data{EventName: "X", Quantity: 1, Position: 1}); !strings.Contains(m.Text, "Hi there") {
		t.Fatalf("no neutral greeting without a name: %s", m.Text)
	}
}
