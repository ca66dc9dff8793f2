package domain

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"evently.dev/libs/apperr"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestHourStartAndDay(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, zone, at, hour, day string
	}{
		{"utc", "UTC", "2026-03-10T23:59:59Z", "2026-03-10T23:00:00Z", "2026-03-10"},
		{"berlin crosses midnight", "Europe/Berlin", "2026-03-10T23:30:00Z", "2026-03-11T00:00:00+01:00", "2026-03-11"},
		{"new york is still yesterday", "America/New_York", "2026-03-11T03:15:00Z", "2026-03-10T23:00:00-04:00", "2026-03-10"},
		{"half-hour zone cuts at its own hour", "Asia/Kolkata", "2026-03-10T10:10:00Z", "2026-03-10T15:00:00+05:30", "2026-03-10"},
		{"first 01:xx of the fall-back hour", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01"},
		{"second 01:xx of the fall-back hour", "America/New_York", "2026-11-01T06:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01"},
		{"spring-forward day", "Europe/Berlin", "2026-03-29T01:45:00Z", "2026-03-29T03:00:00+02:00", "2026-03-29"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			at := ts(tt.at)
			if got := HourStart(at, loc); !got.Equal(ts(tt.hour)) {
				t.Errorf("HourStart = %s, want %s", got, tt.hour)
			}
			if got := Day(at, loc).Format(DateLayout); got != tt.day {
				t.Errorf("Day = %s, want %s", got, tt.day)
			}
		})
	}
}

func TestWeekAndMonthStart(t *testing.T) {
	tests := []struct{ day, week, month string }{
		{"2026-11-25", "2026-11-23", "2026-11-01"}, // Wednesday
		{"2026-11-23", "2026-11-23", "2026-11-01"}, // Monday
		{"2026-11-29", "2026-11-23", "2026-11-01"}, // Sunday belongs to the week before (ISO)
		{"2027-01-01", "2026-12-28", "2027-01-01"}, // a week spanning the new year
	}
	for _, tt := range tests {
		d, _ := time.Parse(DateLayout, tt.day)
		if got := WeekStart(d).Format(DateLayout); got != tt.week {
			t.Errorf("WeekStart(%s) = %s, want %s", tt.day, got, tt.week)
		}
		if got := MonthStart(d).Format(DateLayout); got != tt.month {
			t.Errorf("MonthStart(%s) = %s, want %s", tt.day, got, tt.month)
		}
	}
}

func TestLoadZone(t *testing.T) {
	if loc, err := LoadZone(""); err != nil || loc.String() != "UTC" {
		t.Fatalf("empty zone: %v %v", loc, err)
	}
	if _, err := LoadZone("Mars/Olympus"); err == nil {
		t.Fatal("unknown zone accepted")
	}
}

func TestRateNeverNaN(t *testing.T) {
	tests := []struct {
		part, whole int64
		want        float64
	}{
		{0, 0, 0}, {5, 0, 0}, {0, 10, 0}, {-1, 10, 0}, {3, -4, 0},
		{1, 3, 0.3333}, {2, 3, 0.6667}, {10, 10, 1}, {15, 10, 1.5},
	}
	for _, tt := range tests {
		got := Rate(tt.part, tt.whole)
		if math.IsNaN(got) || math.IsInf(got, 0) || got != tt.want {
			t.Errorf("Rate(%d, %d) = %v, want %v", tt.part, tt.whole, got, tt.want)
		}
	}
	// The empty report must be encodable as JSON (NaN is not).
	var s Sales
	var h Holds
	var w Waitlist
	var e Event
	if _, err := json.Marshal([]float64{s.CancellationRate(), h.ConversionRate(), w.ConversionRate(), e.FillRate()}); err != nil {
		t.Fatal(err)
	}
}

func TestSalesMaths(t *testing.T) {
	s := Sales{Currency: "EUR", Bookings: 4, Cancellations: 1, SeatsBooked: 10, SeatsCancelled: 2, Gross: 40000, Refunds: 7500}
	if s.Net() != 32500 || s.SeatsSold() != 8 || s.CancellationRate() != 0.25 {
		t.Fatalf("net %d seats %d rate %v", s.Net(), s.SeatsSold(), s.CancellationRate())
	}
	c := CountsOnly([]Sales{s, {Currency: "USD", Bookings: 1, SeatsBooked: 2, Gross: 999}})
	if c.Bookings != 5 || c.SeatsBooked != 12 || c.Gross != 0 || c.Currency != "" {
		t.Fatalf("counts only mixed money across currencies: %+v", c)
	}
}

func TestParseRevenueQuery(t *testing.T) {
	now := time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC)
	berlin := mustZone(t, "Europe/Berlin")
	tests := []struct {
		name                        string
		from, to, groupBy, currency string
		loc                         *time.Location
		wantFrom, wantTo            string
		wantGroup                   GroupBy
		badField                    string
	}{
		{name: "defaults: last 30 days by day", loc: time.UTC, wantFrom: "2026-10-27", wantTo: "2026-11-25", wantGroup: GroupByDay},
		{name: "default today follows the zone", loc: berlin, wantFrom: "2026-10-28", wantTo: "2026-11-26", wantGroup: GroupByDay},
		{name: "dates", from: "2026-01-01", to: "2026-01-31", groupBy: "week", loc: time.UTC, wantFrom: "2026-01-01", wantTo: "2026-01-31", wantGroup: GroupByWeek},
		{name: "rfc3339 becomes its local day", from: "2026-01-01T23:30:00Z", to: "2026-01-02T00:00:00+01:00", groupBy: "category", loc: berlin,
			wantFrom: "2026-01-02", wantTo: "2026-01-02", wantGroup: GroupByCategory},
		{name: "single day", from: "2026-05-05", to: "2026-05-05", groupBy: "event", loc: time.UTC, wantFrom: "2026-05-05", wantTo: "2026-05-05", wantGroup: GroupByEvent},
		{name: "currency upper-cased", from: "2026-05-05", to: "2026-05-06", currency: "eur", groupBy: "month", loc: time.UTC, wantFrom: "2026-05-05", wantTo: "2026-05-06", wantGroup: GroupByMonth},
		{name: "from after to", from: "2026-02-01", to: "2026-01-01", loc: time.UTC, badField: "from"},
		{name: "unknown group_by", groupBy: "year", loc: time.UTC, badField: "group_by"},
		{name: "bad from", from: "yesterday", loc: time.UTC, badField: "from"},
		{name: "bad to", to: "2026-13-01", loc: time.UTC, badField: "to"},
		{name: "range over three years", from: "2020-01-01", to: "2026-01-01", loc: time.UTC, badField: "to"},
		{name: "bad currency", currency: "EURO", loc: time.UTC, badField: "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseRevenueQuery(tt.from, tt.to, tt.groupBy, tt.currency, tt.loc, now)
			if tt.badField != "" {
				ae, ok := apperr.As(err)
				if !ok || ae.Kind != apperr.KindInvalid {
					t.Fatalf("want a 400 validation error, got %v", err)
				}
				for _, f := range ae.Fields {
					if f.Field == tt.badField {
						return
					}
				}
				t.Fatalf("no error on %s: %+v", tt.badField, ae.Fields)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := q.From.Format(DateLayout); got != tt.wantFrom {
				t.Errorf("from %s, want %s", got, tt.wantFrom)
			}
			if got := q.To.Format(DateLayout); got != tt.wantTo {
				t.Errorf("to %s, want %s", got, tt.wantTo)
			}
			if q.GroupBy != tt.wantGroup {
				t.Errorf("group %s, want %s", q.GroupBy, tt.wantGroup)
			}
		})
	}
	// The cap is inclusive: exactly MaxRangeDays days is allowed.
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, MaxRangeDays-1)
	if _, err := ParseRevenueQuery(from.Format(DateLayout), to.Format(DateLayout), "", "", time.UTC, now); err != nil {
		t.Fatalf("%d days refused: %v", MaxRangeDays, err)
	}
	if _, err := ParseRevenueQuery(from.Format(DateLayout), to.AddDate(0, 0, 1).Format(DateLayout), "", "", time.UTC, now); err == nil {
		t.Fatalf("%d days accepted", MaxRangeDays+1)
	}
}

func TestParsePopularBy(t *testing.T) {
	for _, ok := range []string{"", "seats_sold", "revenue", "fill_rate", "waitlist"} {
		if _, err := ParsePopularBy(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"SEATS_SOLD", "views", "revenue "} {
		if _, err := ParsePopularBy(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 40, 0, time.UTC)
	m := func(minAgo int, bookings int64) Minute {
		return Minute{Start: MinuteStart(now).Add(-time.Duration(minAgo) * time.Minute), Bookings: bookings}
	}
	minutes := []Minute{m(-1, 1000), m(0, 1), m(1, 2), m(4, 4), m(5, 8), m(14, 16), m(15, 32)}
	tests := []struct {
		n    int
		want int64
	}{{1, 1}, {5, 1 + 2 + 4}, {15, 1 + 2 + 4 + 8 + 16}}
	for _, tt := range tests {
		if got := Window(minutes, now, tt.n).Bookings; got != tt.want {
			t.Errorf("last %d minutes: %d bookings, want %d", tt.n, got, tt.want)
		}
	}
	if got := Window(nil, now, 5); got.Bookings != 0 {
		t.Errorf("empty window: %+v", got)
	}
}

func TestGroupName(t *testing.T) {
	if got := GroupName("e2e-analytics", 3); got != "e2e-analytics-g3" {
		t.Fatal(got)
	}
}

func FuzzParseRevenueQuery(f *testing.F) {
	f.Add("2026-01-01", "2026-12-31", "week", "EUR")
	f.Add("2026-01-01T10:00:00+02:00", "", "event", "")
	f.Add("", "9999-99-99", "day", "€€€")
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to, groupBy, currency string) {
		q, err := ParseRevenueQuery(from, to, groupBy, currency, time.UTC, now)
		if err != nil {
			if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.KindInvalid {
				t.Fatalf("not a 400: %v", err)
			}
			return
		}
		if q.From.After(q.To) || q.To.Sub(q.From) > time.Duration(MaxRangeDays)*24*time.Hour {
			t.Fatalf("accepted a bad range %s..%s", q.From, q.To)
		}
	})
}

func TestSplitMonths(t *testing.T) {
	d := func(s string) time.Time {
		v, err := time.Parse(DateLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		from, to    string
		first, last string // "" when no whole month
		edges       [][2]string
	}{
		{"2026-01-01", "2026-01-31", "2026-01-01", "2026-01-01", nil},
		{"2026-01-01", "2026-03-31", "2026-01-01", "2026-03-01", nil},
		{"2026-01-15", "2026-03-10", "2026-02-01", "2026-02-01", [][2]string{{"2026-01-15", "2026-01-31"}, {"2026-03-01", "2026-03-10"}}},
		{"2026-01-15", "2026-01-20", "", "", [][2]string{{"2026-01-15", "2026-01-20"}}},
		{"2026-01-15", "2026-02-10", "", "", [][2]string{{"2026-01-15", "2026-02-10"}}},
		{"2026-02-01", "2026-02-28", "2026-02-01", "2026-02-01", nil},
		{"2028-02-01", "2028-02-28", "", "", [][2]string{{"2028-02-01", "2028-02-28"}}}, // leap year: 29 days
		{"2026-12-05", "2027-02-28", "2027-01-01", "2027-02-01", [][2]string{{"2026-12-05", "2026-12-31"}}},
		{"2026-05-05", "2026-05-05", "", "", [][2]string{{"2026-05-05", "2026-05-05"}}},
	}
	for _, tt := range tests {
		first, last, ok, edges := SplitMonths(d(tt.from), d(tt.to))
		if ok != (tt.first != "") || (ok && (first.Format(DateLayout) != tt.first || last.Format(DateLayout) != tt.last)) {
			t.Errorf("%s..%s: months %v %s..%s, want %s..%s", tt.from, tt.to, ok, first.Format(DateLayout), last.Format(DateLayout), tt.first, tt.last)
		}
		if len(edges) != len(tt.edges) {
			t.Errorf("%s..%s: edges %v, want %v", tt.from, tt.to, edges, tt.edges)
			continue
		}
		for i, e := range edges {
			if e.From.Format(DateLayout) != tt.edges[i][0] || e.To.Format(DateLayout) != tt.edges[i][1] {
				t.Errorf("%s..%s: edge %d = %v, want %v", tt.from, tt.to, i, e, tt.edges[i])
			}
		}
	}
}
