package e2e

import (
	"testing"
	"time"

	"evently.dev/libs/contracts"
)

// sectionInfo is one section of a published event as GET /events/{id} shows it, with what
// a test needs to name its seats.
type sectionInfo struct {
	ID          string // section_id: what section_pricing, holds and waitlists refer to
	Code        string // A, B, … — the first part of every seat id
	Name        string
	Price       int64
	Capacity    int
	RowStart    string
	RowEnd      string
	SeatsPerRow int
}

// SeatID is the id of seat number n in row (e.g. s.SeatID("B", 3) → "B-RB-S3").
func (s sectionInfo) SeatID(row string, n int) string { return contracts.SeatID(s.Code, row, n) }

// FirstSeats returns the ids of the first n seats of the section's first row.
func (s sectionInfo) FirstSeats(n int) []string {
	out := make([]string, 0, n)
	for i := 1; i <= n && i <= s.SeatsPerRow; i++ {
		out = append(out, s.SeatID(s.RowStart, i))
	}
	return out
}

// createTemplate creates a venue template through the gateway (201) and returns it as JSON.
func createTemplate(t testing.TB, adminTok string, body map[string]any) map[string]any {
	t.Helper()
	return expect(t, call(t, "POST", "/api/v1/admin/venue-templates", adminTok, body), 201).JSON(t)
}

// hallTemplateBody is a small venue: VIP row A × 8 seats and General rows B–C × 10 seats
// (28 seats), under a unique name.
func hallTemplateBody() map[string]any {
	return map[string]any{"name": "E2E Hall " + randHex(6), "layout_type": "CONFERENCE", "sections": []any{
		map[string]any{"name": "VIP", "row_start": "A", "row_end": "A", "seats_per_row": 8, "price_tier": "vip"},
		map[string]any{"name": "General", "row_start": "B", "row_end": "C", "seats_per_row": 10},
	}}
}

// createPublishedEvent creates a fresh hall template (see hallTemplateBody) and a PUBLISHED
// event on it three days ahead: base price 150000 INR, VIP ×2.0 (300000), General 150000,
// hold limit 8. overrides (may be nil) replace fields of the event body, e.g.
// {"hold_limit_per_user": 2} or {"date_time": ..., "end_time": ...}. It returns the event
// id and its sections in template order (VIP first).
func createPublishedEvent(t testing.TB, adminTok string, overrides map[string]any) (eventID string, sections []sectionInfo) {
	t.Helper()
	return createPublishedEventOn(t, adminTok, hallTemplateBody(), overrides)
}

// createPublishedEventOn is createPublishedEvent on a template of your own; the first
// section gets multiplier 2.0 unless overrides set section_pricing.
func createPublishedEventOn(t testing.TB, adminTok string, templateBody, overrides map[string]any) (string, []sectionInfo) {
	t.Helper()
	tpl := createTemplate(t, adminTok, templateBody)
	body := eventBody(tpl, "E2E Event", 72*time.Hour, 150000)
	body["status"] = "PUBLISHED"
	for k, v := range overrides {
		body[k] = v
	}
	ev := expect(t, call(t, "POST", "/api/v1/admin/events", adminTok, body), 201).JSON(t)
	if ev["status"] != "PUBLISHED" {
		t.Fatalf("event not published: %v", ev["status"])
	}
	return ev["id"].(string), eventSections(t, ev)
}

// eventBody is the body of POST /admin/events for a three-hour INR event on template tpl
// (as createTemplate returns it), starting in startsIn, named name plus a random suffix:
// the first section costs 2 × basePrice, hold limit 8. It is created as a DRAFT.
func eventBody(tpl map[string]any, name string, startsIn time.Duration, basePrice int64) map[string]any {
	first := tpl["sections"].([]any)[0].(map[string]any)["id"].(string)
	start := time.Now().Add(startsIn).UTC().Truncate(time.Second)
	return map[string]any{
		"name": name + " " + randHex(6), "description": "made by an end-to-end test", "category": "e2e",
		"tags": []string{"e2e"}, "venue_template_id": tpl["id"], "date_time": start.Format(time.RFC3339),
		"end_time": start.Add(3 * time.Hour).Format(time.RFC3339), "base_price": basePrice, "currency": "INR",
		"section_pricing":     []any{map[string]any{"section_id": first, "price_multiplier": 2.0}},
		"hold_limit_per_user": 8,
	}
}

// eventSections reads the sections of an event JSON object (GET /events/{id}).
func eventSections(t testing.TB, ev map[string]any) []sectionInfo {
	t.Helper()
	var out []sectionInfo
	for _, raw := range ev["sections"].([]any) {
		s := raw.(map[string]any)
		out = append(out, sectionInfo{ID: s["section_id"].(string), Code: s["code"].(string), Name: s["name"].(string),
			Price: int64(s["price"].(float64)), Capacity: int(s["capacity"].(float64)), RowStart: s["row_start"].(string),
			RowEnd: s["row_end"].(string), SeatsPerRow: int(s["seats_per_row"].(float64))})
	}
	return out
}

// setCancellationPolicy creates the event's cancellation policy (201) and returns it.
func setCancellationPolicy(t testing.TB, adminTok, eventID string, body map[string]any) map[string]any {
	t.Helper()
	return expect(t, call(t, "POST", "/api/v1/admin/events/"+eventID+"/cancellation-policy", adminTok, body), 201).JSON(t)
}
