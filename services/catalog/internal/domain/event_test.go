package domain

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func validInput() EventInput {
	return EventInput{Name: ptr("Tech Conference"), Category: ptr("tech"), Tags: &[]string{"ai", "cloud", "ai"},
		VenueTemplateID: ptr(uuid.NewString()), DateTime: ptr("2026-12-20T10:00:00Z"), EndTime: ptr("2026-12-20T18:00:00Z"),
		BasePrice: ptr(int64(150000)), Currency: ptr("INR")}
}

func TestApplyEventInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*EventInput)
		bad    []string
	}{
		{"valid", func(*EventInput) {}, nil},
		{"missing everything", func(in *EventInput) { *in = EventInput{} },
			[]string{"name", "venue_template_id", "date_time", "end_time", "base_price", "currency"}},
		{"past date", func(in *EventInput) { in.DateTime = ptr("2020-01-01T10:00:00Z") }, []string{"date_time"}},
		{"bad date", func(in *EventInput) { in.DateTime = ptr("20 Dec") }, []string{"date_time"}},
		{"end before start", func(in *EventInput) { in.EndTime = ptr("2026-12-20T09:00:00Z") }, []string{"end_time"}},
		{"bad currency", func(in *EventInput) { in.Currency = ptr("inr") }, []string{"currency"}},
		{"negative price", func(in *EventInput) { in.BasePrice = ptr(int64(-1)) }, []string{"base_price"}},
		{"bad template id", func(in *EventInput) { in.VenueTemplateID = ptr("x") }, []string{"venue_template_id"}},
		{"bad tag", func(in *EventInput) { in.Tags = &[]string{"Live Music"} }, []string{"tags[0]"}},
		{"bad category", func(in *EventInput) { in.Category = ptr("Tech!") }, []string{"category"}},
		{"hold limit 0", func(in *EventInput) { in.HoldLimitPerUser = ptr(0) }, []string{"hold_limit_per_user"}},
		{"hold limit 51", func(in *EventInput) { in.HoldLimitPerUser = ptr(51) }, []string{"hold_limit_per_user"}},
		{"bad status", func(in *EventInput) { in.Status = ptr("CANCELLED") }, []string{"status"}},
		{"bad timezone", func(in *EventInput) { in.Timezone = ptr("Mars/Base") }, []string{"timezone"}},
		{"multiplier too low", func(in *EventInput) {
			in.SectionPricing = &[]PricingInput{{SectionID: uuid.NewString(), Multiplier: "0.05"}}
		}, []string{"section_pricing[0].price_multiplier"}},
		{"multiplier too high", func(in *EventInput) {
			in.SectionPricing = &[]PricingInput{{SectionID: uuid.NewString(), Multiplier: "10.5"}}
		}, []string{"section_pricing[0].price_multiplier"}},
		{"pricing bad section", func(in *EventInput) {
			in.SectionPricing = &[]PricingInput{{SectionID: "nope", Multiplier: "2"}}
		}, []string{"section_pricing[0].section_id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := validInput()
			tc.mutate(&in)
			var e Event
			err := ApplyEventInput(&e, in, testNow, true)
			if len(tc.bad) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if e.HoldLimitPerUser != DefaultHoldLimit || len(e.Tags) != 2 || e.Timezone != "UTC" {
					t.Fatalf("defaults/normalisation wrong: %+v", e)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindUnprocessable {
				t.Fatalf("want 422, got %v", err)
			}
			got := fieldsOf(err)
			for _, f := range tc.bad {
				if !got[f] {
					t.Errorf("no error on %s: %+v", f, ae.Fields)
				}
			}
		})
	}
}

func TestRepriceAndPublishChecks(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	tpl := Template{Sections: []Section{
		{ID: a, Code: "A", Name: "VIP", RowStart: "A", RowEnd: "A", SeatsPerRow: 8, RowCount: 1},
		{ID: b, Code: "B", Name: "General", RowStart: "B", RowEnd: "C", SeatsPerRow: 10, RowCount: 2},
	}}
	e := Event{BasePrice: 150000, StartsAt: testNow.Add(time.Hour), EndsAt: testNow.Add(2 * time.Hour),
		Pricing: []Pricing{{SectionID: a, Milli: 2000}}, Sections: SectionsFromTemplate(tpl)}
	if err := e.Reprice(true); err != nil {
		t.Fatal(err)
	}
	if e.Sections[0].Price != 300000 || e.Sections[1].Price != 150000 || e.TotalCapacity() != 28 {
		t.Fatalf("prices %+v", e.Sections)
	}
	if err := e.CheckPublishable(testNow); err != nil {
		t.Fatal(err)
	}
	e.Pricing = append(e.Pricing, Pricing{SectionID: uuid.New(), Milli: 1000})
	if err := e.Reprice(true); !fieldsOf(err)["section_pricing[1].section_id"] {
		t.Fatalf("unknown section must be a field error: %v", err)
	}
	if err := e.Reprice(false); err != nil || len(e.Pricing) != 1 {
		t.Fatalf("lenient reprice drops unknown sections: %v %+v", err, e.Pricing)
	}
	past := e
	past.StartsAt = testNow.Add(-time.Hour)
	if !fieldsOf(past.CheckPublishable(testNow))["date_time"] {
		t.Fatal("past start must block publishing")
	}
	empty := Event{StartsAt: testNow.Add(time.Hour), EndsAt: testNow.Add(2 * time.Hour)}
	if !fieldsOf(empty.CheckPublishable(testNow))["venue_template_id"] {
		t.Fatal("no seats must block publishing")
	}
}

func TestCheckKeepsSeats(t *testing.T) {
	a := Section{ID: uuid.New(), Position: 0, Code: "A", Name: "Stalls", RowStart: "A", RowEnd: "C", RowCount: 3, SeatsPerRow: 10}
	grow := a
	grow.RowEnd, grow.RowCount, grow.SeatsPerRow, grow.Name = "D", 4, 12, "Renamed"
	shrink := a
	shrink.SeatsPerRow = 9
	shift := a
	shift.RowStart, shift.RowEnd = "B", "D"
	moved := a
	moved.Position, moved.Code = 1, "B"
	extra := Section{ID: uuid.New(), Position: 1, Code: "B", Name: "Balcony", RowStart: "1", RowEnd: "2", RowCount: 2, SeatsPerRow: 5}
	tests := []struct {
		name string
		next []Section
		ok   bool
	}{
		{"same", []Section{a}, true},
		{"grown and renamed", []Section{grow}, true},
		{"appended", []Section{a, extra}, true},
		{"removed", []Section{extra}, false},
		{"fewer seats per row", []Section{shrink}, false},
		{"rows renumbered", []Section{shift}, false},
		{"section moved", []Section{extra, moved}, false},
	}
	for _, tc := range tests {
		err := CheckKeepsSeats([]Section{a}, tc.next)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestParseFilter(t *testing.T) {
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	f, err := ParseFilter(get(map[string]string{"q": "tech", "tags": "ai, cloud", "date_from": "2026-12-01",
		"date_to": "2026-12-31", "min_price": "100", "max_price": "5000", "sort": "-price", "available_only": "true"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tags) != 2 || f.To.Hour() != 23 || *f.MinPrice != 100 || f.Sort != SortPriceDesc || !f.AvailableOnly ||
		len(f.Statuses) != 1 || f.Statuses[0] != StatusPublished {
		t.Fatalf("filter %+v", f)
	}
	bad := []map[string]string{
		{"sort": "popularity"}, {"min_price": "-1"}, {"max_price": "x"}, {"date_from": "yesterday"},
		{"status": "DRAFT"}, {"available_only": "maybe"}, {"venue_template_id": "x"}, {"tags": "A B"},
		{"min_price": "10", "max_price": "5"}, {"date_from": "2026-12-02", "date_to": "2026-12-01"},
		{"q": "a\x00b"}, {"q": "\xff\xfe"}, {"q": "tab\there"},
	}
	for _, m := range bad {
		_, err := ParseFilter(get(m), false)
		ae, ok := apperr.As(err)
		if !ok || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
			t.Errorf("%v: want a 400 with field errors, got %v", m, err)
		}
	}
	if f, err := ParseFilter(get(map[string]string{"status": "draft,cancelled"}), true); err != nil || len(f.Statuses) != 2 {
		t.Fatalf("admins filter by status: %+v %v", f, err)
	}
	if a, b := (Filter{Q: "x", Limit: 10}).Key(), (Filter{Q: "x", Limit: 20}).Key(); a == b {
		t.Fatal("cache key must cover the page")
	}
	raw, _ := json.Marshal(SearchTerms("Tech: & conf!*"))
	if string(raw) != `["tech","conf"]` {
		t.Fatalf("search terms %s", raw)
	}
}
