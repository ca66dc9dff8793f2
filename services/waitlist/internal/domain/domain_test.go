package domain

import (
	"reflect"
	"testing"

	"evently.dev/libs/apperr"
)

func seat(sec, row string, n int) Seat {
	return Seat{ID: sec + "-R" + row + "-S" + string(rune('0'+n/10)) + string(rune('0'+n%10)), SectionID: sec, Row: row, Number: n}
}

func TestPickSeats(t *testing.T) {
	a1, a2, a3, a5, a6 := seat("A", "1", 1), seat("A", "1", 2), seat("A", "1", 3), seat("A", "1", 5), seat("A", "1", 6)
	b1, b2 := seat("A", "2", 1), seat("A", "2", 2)
	c1, c2 := seat("C", "1", 1), seat("C", "1", 2)
	tests := []struct {
		name    string
		avail   []Seat
		qty     int
		section string
		want    []Seat
	}{
		{"nothing available", nil, 1, "", nil},
		{"too few", []Seat{a1}, 2, "", nil},
		{"single seat", []Seat{a1, a2}, 1, "", []Seat{a1}},
		{"adjacent pair skips a gap", []Seat{a1, a3, a5, a6}, 2, "", []Seat{a5, a6}},
		{"adjacent in a later row beats split in first", []Seat{a1, a3, b1, b2}, 2, "", []Seat{b1, b2}},
		{"same row when no adjacent", []Seat{a1, a3, b1}, 2, "", []Seat{a1, a3}},
		{"one section when no row fits", []Seat{a1, b1, c1}, 2, "", []Seat{a1, b1}},
		{"any seats without a section", []Seat{a1, c1}, 2, "", []Seat{a1, c1}},
		{"section filter", []Seat{a1, a2, c1, c2}, 2, "C", []Seat{c1, c2}},
		{"section too small", []Seat{a1, a2, c1}, 2, "C", nil},
		{"unordered numbers", []Seat{a3, a1, a2}, 3, "", []Seat{a1, a2, a3}},
		{"zero quantity", []Seat{a1}, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PickSeats(tt.avail, tt.qty, tt.section)
			var want []string
			if tt.want != nil {
				want = ids(tt.want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("PickSeats = %v, want %v", got, want)
			}
		})
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{150000, "INR", "1500.00 INR"},
		{5, "eur", "0.05 EUR"},
		{0, "USD", "0.00 USD"},
		{-1234, "USD", "-12.34 USD"},
		{1500, "JPY", "1500 JPY"},
		{1234, "KWD", "1.234 KWD"},
		{99, "", "0.99"},
	}
	for _, tt := range tests {
		if got := FormatMoney(tt.minor, tt.cur); got != tt.want {
			t.Errorf("FormatMoney(%d, %q) = %q, want %q", tt.minor, tt.cur, got, tt.want)
		}
	}
}

func TestJoinRequestValidate(t *testing.T) {
	q := func(n int) *int { return &n }
	ev := "0192a5d2-0000-7000-8000-000000000001"
	tests := []struct {
		name string
		req  JoinRequest
		kind apperr.Kind // KindInternal = valid
		qty  int
	}{
		{"valid", JoinRequest{EventID: ev, Quantity: q(2)}, apperr.KindInternal, 2},
		{"valid with section", JoinRequest{EventID: ev, Quantity: q(10), SectionID: ev}, apperr.KindInternal, 10},
		{"quantity 0", JoinRequest{EventID: ev, Quantity: q(0)}, apperr.KindUnprocessable, 0},
		{"quantity 11", JoinRequest{EventID: ev, Quantity: q(11)}, apperr.KindUnprocessable, 0},
		{"quantity missing", JoinRequest{EventID: ev}, apperr.KindUnprocessable, 0},
		{"event missing", JoinRequest{Quantity: q(1)}, apperr.KindUnprocessable, 0},
		{"event malformed", JoinRequest{EventID: "x", Quantity: q(1)}, apperr.KindInvalid, 0},
		{"section malformed", JoinRequest{EventID: ev, Quantity: q(1), SectionID: "vip"}, apperr.KindInvalid, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := tt.req.Validate()
			if tt.kind == apperr.KindInternal {
				if err != nil || spec.Quantity != tt.qty {
					t.Fatalf("Validate = %+v, %v", spec, err)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != tt.kind {
				t.Fatalf("Validate error = %v, want kind %d", err, tt.kind)
			}
		})
	}
}

func TestAvailabilityFits(t *testing.T) {
	a := Availability{Available: 3, Sections: map[string]int{"s1": 1, "s2": 2}}
	tests := []struct {
		qty         int
		section     string
		fits, known bool
	}{
		{3, "", true, true},
		{4, "", false, true},
		{1, "s1", true, true},
		{2, "s1", false, true},
		{2, "s2", true, true},
		{1, "nope", false, false},
	}
	for _, tt := range tests {
		fits, known := a.Fits(tt.qty, tt.section)
		if fits != tt.fits || known != tt.known {
			t.Errorf("Fits(%d, %q) = %v, %v; want %v, %v", tt.qty, tt.section, fits, known, tt.fits, tt.known)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range Statuses {
		if got, ok := ParseStatus(string(s)); !ok || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, ok)
		}
	}
	if _, ok := ParseStatus("PENDING"); ok {
		t.Error("unknown status accepted")
	}
	if !StatusOffered.Live() || StatusExpired.Live() {
		t.Error("Live is wrong")
	}
}
