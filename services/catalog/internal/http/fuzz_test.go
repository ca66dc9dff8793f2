package http

import (
	"strings"
	"testing"
	"time"

	"evently.dev/libs/apperr"
	"evently.dev/libs/httpserver"

	"evently.dev/services/catalog/internal/domain"
)

// FuzzCreateEventRequest feeds arbitrary bodies through the create-event decoder and
// validator: whatever arrives, the answer is a client error or a valid event, never a
// panic or a server error.
func FuzzCreateEventRequest(f *testing.F) {
	seeds := []string{
		`{"name":"Tech","venue_template_id":"0192a5d2-0000-7000-8000-000000000001","date_time":"2030-01-01T10:00:00Z","end_time":"2030-01-01T12:00:00Z","base_price":150000,"currency":"INR","section_pricing":[{"section_id":"0192a5d2-0000-7000-8000-000000000002","price_multiplier":1.5}],"tags":["ai"],"status":"PUBLISHED"}`,
		`{"name":"x","section_pricing":[{"section_id":"a","price_multiplier":1e400}]}`,
		`{"section_pricing":[{"price_multiplier":"0.1"}]}`,
		`{"base_price":-1,"currency":"inr","hold_limit_per_user":0,"timezone":"Local"}`,
		`{"date_time":"2030-02-30T10:00:00Z","end_time":"yesterday"}`,
		`{"tags":["A","b-","--",""],"category":"Big Events"}`,
		`{"name":`, `[]`, `null`, `{"name":null}`, `{"unknown":1}`, `{"price_multiplier":0.0000001}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		var req eventRequest
		if err := httpserver.DecodeJSON(strings.NewReader(body), &req); err != nil {
			assertClientError(t, err)
			return
		}
		var e domain.Event
		if err := domain.ApplyEventInput(&e, req.toInput(), now, true); err != nil {
			assertClientError(t, err)
			return
		}
		for _, p := range e.Pricing {
			if p.Milli < domain.MinMultiplierMilli || p.Milli > domain.MaxMultiplierMilli {
				t.Fatalf("accepted multiplier %d", p.Milli)
			}
		}
		if !e.StartsAt.After(now) || !e.EndsAt.After(e.StartsAt) || !domain.ValidCurrency(e.Currency) {
			t.Fatalf("accepted an invalid event %+v", e)
		}
	})
}

func assertClientError(t *testing.T, err error) {
	t.Helper()
	p := httpserver.ToProblem(err)
	if p.Status < 400 || p.Status >= 500 {
		t.Fatalf("error mapped to %d: %v", p.Status, err)
	}
	if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindUnprocessable && len(ae.Fields) == 0 {
		t.Fatalf("a 422 must name its fields: %v", err)
	}
}
