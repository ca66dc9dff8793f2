package domain

import (
	"errors"
	"testing"
	"time"

	"evently.dev/libs/apperr"
)

func intp(n int) *int { return &n }

func TestHoldRequestValidate(t *testing.T) {
	ev := "0193a3c2-5b0e-7c3e-9a51-6f1c2d7e8a90"
	sec := "0193a3c2-5b0e-7c3e-9a51-6f1c2d7e8a91"
	tests := []struct {
		name string
		req  HoldRequest
		kind apperr.Kind // KindInternal = valid
	}{
		{"explicit seats", HoldRequest{EventID: ev, SeatIDs: []string{"A-R1-S1", "A-R1-S2"}}, apperr.KindInternal},
		{"best available", HoldRequest{EventID: ev, SectionID: sec, Quantity: intp(2)}, apperr.KindInternal},
		{"best available split", HoldRequest{EventID: ev, SectionID: sec, Quantity: intp(2), AllowSplit: true}, apperr.KindInternal},
		{"bad event uuid", HoldRequest{EventID: "nope", SeatIDs: []string{"A"}}, apperr.KindInvalid},
		{"bad section uuid", HoldRequest{EventID: ev, SectionID: "x", Quantity: intp(1)}, apperr.KindInvalid},
		{"missing event", HoldRequest{SeatIDs: []string{"A"}}, apperr.KindUnprocessable},
		{"empty seats", HoldRequest{EventID: ev, SeatIDs: []string{}}, apperr.KindUnprocessable},
		{"nothing asked", HoldRequest{EventID: ev}, apperr.KindUnprocessable},
		{"duplicate seats", HoldRequest{EventID: ev, SeatIDs: []string{"A", "A"}}, apperr.KindUnprocessable},
		{"blank seat", HoldRequest{EventID: ev, SeatIDs: []string{" "}}, apperr.KindUnprocessable},
		{"too many seats", HoldRequest{EventID: ev, SeatIDs: []string{"1", "2", "3", "4", "5", "6"}}, apperr.KindUnprocessable},
		{"quantity zero", HoldRequest{EventID: ev, SectionID: sec, Quantity: intp(0)}, apperr.KindUnprocessable},
		{"quantity over max", HoldRequest{EventID: ev, SectionID: sec, Quantity: intp(6)}, apperr.KindUnprocessable},
		{"quantity without section", HoldRequest{EventID: ev, Quantity: intp(2)}, apperr.KindUnprocessable},
		{"section without quantity", HoldRequest{EventID: ev, SectionID: sec}, apperr.KindUnprocessable},
		{"both forms", HoldRequest{EventID: ev, SeatIDs: []string{"A"}, SectionID: sec, Quantity: intp(1)}, apperr.KindUnprocessable},
		{"split with explicit seats", HoldRequest{EventID: ev, SeatIDs: []string{"A"}, AllowSplit: true}, apperr.KindUnprocessable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.req.Validate(5)
			if tt.kind == apperr.KindInternal {
				if err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != tt.kind {
				t.Fatalf("got %v, want kind %d", err, tt.kind)
			}
		})
	}
}

func TestCheckOnSale(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	tests := []struct {
		name string
		ev   Event
		ok   bool
	}{
		{"published, future", Event{Status: EventPublished, StartsAt: later}, true},
		{"cancelled", Event{Status: EventCancelled, StartsAt: later}, false},
		{"started", Event{Status: EventPublished, StartsAt: earlier}, false},
		{"sale not open", Event{Status: EventPublished, StartsAt: later.Add(time.Hour), SaleStartsAt: &later}, false},
		{"sale closed", Event{Status: EventPublished, StartsAt: later, SaleEndsAt: &earlier}, false},
		{"inside window", Event{Status: EventPublished, StartsAt: later, SaleStartsAt: &earlier, SaleEndsAt: &later}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ev.CheckOnSale(now)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckOnSale = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrNotOnSale) {
				t.Fatalf("want ErrNotOnSale, got %v", err)
			}
		})
	}
}

func TestExpandLayout(t *testing.T) {
	id := func(code, row string, n int) string { return code + "-R" + row + "-S" + string(rune('0'+n)) }
	seats, err := ExpandLayout([]SectionLayout{{ID: "s1", Code: "A", Rows: []RowRun{
		{Label: "1", First: 1, Last: 3, Y: 10, X0: 5, DX: 2}, {Label: "2", First: 2, Last: 3, Y: 20, X0: 7, DX: 2}}}}, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(seats) != 5 || seats[0].ID != "A-R1-S1" || seats[2].X != 9 || seats[3].Run != 1 || seats[3].Y != 20 {
		t.Fatalf("unexpected seats: %+v", seats)
	}
	if _, err := ExpandLayout([]SectionLayout{{Code: "A", Rows: []RowRun{{Label: "1", First: 3, Last: 1}}}}, id); err == nil {
		t.Fatal("reversed range accepted")
	}
	if _, err := ExpandLayout([]SectionLayout{{Code: "A", Rows: []RowRun{{Label: "1", First: 1, Last: 2}, {Label: "1", First: 2, Last: 3}}}}, id); err == nil {
		t.Fatal("duplicate seat ids accepted")
	}
	if _, err := ExpandLayout([]SectionLayout{{Code: "A", Rows: []RowRun{{Label: "1", First: 1, Last: MaxSeatsPerEvent + 1}}}}, id); err == nil {
		t.Fatal("oversized layout accepted")
	}
}
