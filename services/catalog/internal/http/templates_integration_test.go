package http_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestIntegrationVenueTemplates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tpl := h.createTemplate(map[string]any{"name": "Small Theater", "description": "Black box", "layout_type": "THEATER",
		"sections": []any{
			map[string]any{"name": "Premium", "row_start": "A", "row_end": "A", "seats_per_row": 13, "price_tier": "premium"},
			map[string]any{"name": "Standard", "row_start": "B", "row_end": "B", "seats_per_row": 13},
		}})
	if tpl["total_seats"] != 26.0 || len(tpl["sections"].([]any)) != 2 {
		t.Fatalf("template %v", tpl)
	}
	s0 := tpl["sections"].([]any)[0].(map[string]any)
	if s0["code"] != "A" || s0["capacity"] != 13.0 || s0["price_tier"] != "premium" {
		t.Fatalf("section %v", s0)
	}
	id := tpl["id"].(string)

	t.Run("validation", func(t *testing.T) {
		h.problem(h.do("POST", "/api/v1/admin/venue-templates", admin, map[string]any{"name": "small theater"}), http.StatusConflict)
		h.problem(h.do("POST", "/api/v1/admin/venue-templates", admin, map[string]any{"layout_type": "CIRCUS"}),
			http.StatusUnprocessableEntity, "name", "layout_type")
		h.problem(h.do("POST", "/api/v1/admin/venue-templates", admin, map[string]any{"name": "X", "sections": []any{
			map[string]any{"name": "", "row_start": "C", "row_end": "A", "seats_per_row": 0},
			map[string]any{"name": "Mixed", "row_start": "A", "row_end": 3, "seats_per_row": 5},
		}}), http.StatusUnprocessableEntity, "sections[0].name", "sections[0].row_end", "sections[0].seats_per_row", "sections[1].row_start")
		h.problem(h.do("POST", "/api/v1/admin/venue-templates", admin, `{"name": "X", "sections": "many"}`), http.StatusBadRequest, "sections")
		h.problem(h.do("POST", "/api/v1/admin/venue-templates", admin, `{"name": "X", "seats": 3}`), http.StatusBadRequest, "seats")
		h.problem(h.do("POST", "/api/v1/admin/venue-templates", admin, `{"name":`), http.StatusBadRequest)
		// A NUL in the search text was a 500 (PostgreSQL refuses it in text).
		h.problem(h.do("GET", "/api/v1/admin/venue-templates?q=a%00b", admin, nil), http.StatusBadRequest, "q")
		h.problem(h.do("GET", "/api/v1/events?q=a%00b", admin, nil), http.StatusBadRequest, "q")
		// An offset near the largest integer overflowed offset+limit (a 500).
		if r := h.do("GET", "/api/v1/admin/venue-templates/"+id+"/seats?offset=9223372036854775807", admin, nil); r.Status != http.StatusOK {
			t.Fatalf("huge offset: %d %s", r.Status, r.Body)
		}
	})
	t.Run("access", func(t *testing.T) {
		h.problem(h.do("GET", "/api/v1/admin/venue-templates", user, nil), http.StatusForbidden)
		h.problem(h.do("POST", "/api/v1/admin/venue-templates", user, hallTemplate("Nope")), http.StatusForbidden)
		h.problem(h.do("GET", "/api/v1/admin/venue-templates", anon, nil), http.StatusUnauthorized)
		h.problem(h.do("GET", "/api/v1/admin/venue-templates/not-a-uuid", admin, nil), http.StatusBadRequest)
		h.problem(h.do("GET", "/api/v1/admin/venue-templates/0192a5d2-0000-7000-8000-000000000001", admin, nil), http.StatusNotFound)
	})
	t.Run("sections and seats", func(t *testing.T) {
		sec := h.must(h.do("POST", "/api/v1/admin/venue-templates/"+id+"/sections", admin,
			map[string]any{"name": "Balcony", "row_start": 1, "row_end": 2, "seats_per_row": 5}), http.StatusCreated)
		if sec["code"] != "C" || sec["capacity"] != 10.0 || sec["row_start"] != "1" {
			t.Fatalf("added section %v", sec)
		}
		h.problem(h.do("POST", "/api/v1/admin/venue-templates/"+id+"/sections", admin,
			map[string]any{"name": "balcony", "row_start": "A", "row_end": "A", "seats_per_row": 5}), http.StatusUnprocessableEntity, "sections")
		list := h.must(h.do("GET", "/api/v1/admin/venue-templates/"+id+"/sections", admin, nil), http.StatusOK)
		if len(list["items"].([]any)) != 3 {
			t.Fatalf("sections %v", list)
		}
		seats := h.must(h.do("GET", "/api/v1/admin/venue-templates/"+id+"/seats?limit=100&offset=25", admin, nil), http.StatusOK)
		items := seats["items"].([]any)
		if seats["page"].(map[string]any)["total"] != 36.0 || len(items) != 11 {
			t.Fatalf("seats page %v", seats["page"])
		}
		s := items[0].(map[string]any)
		if s["seat_id"] != "B-RB-S13" || s["label"] != "Standard B-13" {
			t.Fatalf("seat %v", s)
		}
		last := items[10].(map[string]any)
		if last["seat_id"] != "C-R2-S5" || last["label"] != "Balcony 2-5" {
			t.Fatalf("last seat %v", last)
		}
	})
	t.Run("update and list", func(t *testing.T) {
		up := h.must(h.do("PUT", "/api/v1/admin/venue-templates/"+id, admin, map[string]any{"description": "Renovated"}), http.StatusOK)
		if up["description"] != "Renovated" || up["total_seats"] != 36.0 || up["version"] != 3.0 {
			t.Fatalf("updated %v", up)
		}
		h.createTemplate(hallTemplate("Conference Hall"))
		list := h.must(h.do("GET", "/api/v1/admin/venue-templates?limit=1", admin, nil), http.StatusOK)
		if list["page"].(map[string]any)["total"] != 2.0 || len(list["items"].([]any)) != 1 {
			t.Fatalf("list %v", list)
		}
		if list["items"].([]any)[0].(map[string]any)["name"] != "Conference Hall" {
			t.Fatalf("templates are listed by name: %v", list["items"])
		}
		h.problem(h.do("GET", "/api/v1/admin/venue-templates?limit=101", admin, nil), http.StatusBadRequest, "limit")
		h.problem(h.do("PUT", "/api/v1/admin/venue-templates/"+id, admin, map[string]any{"name": "conference hall"}), http.StatusConflict)
	})
	t.Run("delete", func(t *testing.T) {
		tmp := h.createTemplate(hallTemplate("Temporary"))
		h.must(h.do("DELETE", "/api/v1/admin/venue-templates/"+tmp["id"].(string), admin, nil), http.StatusNoContent)
		h.problem(h.do("GET", "/api/v1/admin/venue-templates/"+tmp["id"].(string), admin, nil), http.StatusNotFound)
	})
}

func TestIntegrationTemplateUsedByPublishedEventKeepsSeats(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tpl := h.createTemplate(hallTemplate("Hall"))
	id := tpl["id"].(string)
	ids := sectionIDs(tpl)
	draft := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Draft Night", id, 48*time.Hour, nil)), http.StatusCreated)

	// Unused by published events: sections may be replaced freely, and drafts follow.
	h.must(h.do("PUT", "/api/v1/admin/venue-templates/"+id, admin, map[string]any{"sections": []any{
		map[string]any{"id": ids[0], "name": "VIP", "row_start": "A", "row_end": "A", "seats_per_row": 6},
		map[string]any{"id": ids[1], "name": "General", "row_start": "B", "row_end": "C", "seats_per_row": 10},
	}}), http.StatusOK)
	d := h.must(h.do("GET", "/api/v1/admin/events/"+draft["id"].(string), admin, nil), http.StatusOK)
	if d["total_capacity"] != 26.0 {
		t.Fatalf("draft must follow its template: %v", d["total_capacity"])
	}

	h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Live Night", id, 48*time.Hour, map[string]any{"status": "PUBLISHED"})), http.StatusCreated)
	cases := []struct {
		name     string
		sections []any
	}{
		{"remove a section", []any{map[string]any{"id": ids[1], "name": "General", "row_start": "B", "row_end": "C", "seats_per_row": 10}}},
		{"fewer seats", []any{
			map[string]any{"id": ids[0], "name": "VIP", "row_start": "A", "row_end": "A", "seats_per_row": 5},
			map[string]any{"id": ids[1], "name": "General", "row_start": "B", "row_end": "C", "seats_per_row": 10}}},
		{"renumbered rows", []any{
			map[string]any{"id": ids[0], "name": "VIP", "row_start": "A", "row_end": "A", "seats_per_row": 6},
			map[string]any{"id": ids[1], "name": "General", "row_start": "C", "row_end": "D", "seats_per_row": 10}}},
		{"reordered", []any{
			map[string]any{"id": ids[1], "name": "General", "row_start": "B", "row_end": "C", "seats_per_row": 10},
			map[string]any{"id": ids[0], "name": "VIP", "row_start": "A", "row_end": "A", "seats_per_row": 6}}},
	}
	for _, tc := range cases {
		h.problem(h.do("PUT", "/api/v1/admin/venue-templates/"+id, admin, map[string]any{"sections": tc.sections}), http.StatusConflict)
	}
	// Growing and renaming keeps every seat id: allowed.
	up := h.must(h.do("PUT", "/api/v1/admin/venue-templates/"+id, admin, map[string]any{"sections": []any{
		map[string]any{"id": ids[0], "name": "Front", "row_start": "A", "row_end": "A", "seats_per_row": 8},
		map[string]any{"id": ids[1], "name": "General", "row_start": "B", "row_end": "D", "seats_per_row": 10},
	}}), http.StatusOK)
	if up["total_seats"] != 38.0 {
		t.Fatalf("grown template %v", up["total_seats"])
	}
	h.problem(h.do("DELETE", "/api/v1/admin/venue-templates/"+id, admin, nil), http.StatusConflict)
}

func TestIntegrationLargeTemplateAndEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var sections []any
	for i := 0; i < 10; i++ { // 10 sections × 50 rows × 100 seats = 50,000 seats
		sections = append(sections, map[string]any{"name": fmt.Sprintf("Stand %d", i+1), "row_start": "1", "row_end": "50", "seats_per_row": 100})
	}
	start := time.Now()
	tpl := h.createTemplate(map[string]any{"name": "Mega Stadium", "layout_type": "STADIUM", "sections": sections})
	createdIn := time.Since(start)
	if tpl["total_seats"] != 50000.0 {
		t.Fatalf("total seats %v", tpl["total_seats"])
	}
	start = time.Now()
	ev := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Final", tpl["id"].(string), 72*time.Hour,
		map[string]any{"status": "PUBLISHED"})), http.StatusCreated)
	publishedIn := time.Since(start)
	rows := h.outbox("evently.catalog.event.published.v1")
	if len(rows) != 1 || rows[0].Key != ev["id"] {
		t.Fatalf("outbox rows %d", len(rows))
	}
	validate(t, rows[0].Type, rows[0].Payload)
	if len(rows[0].Payload) >= 1<<20/4 {
		t.Fatalf("event.published for 50,000 seats is %d bytes; it must stay far below 1 MB", len(rows[0].Payload))
	}
	t.Logf("50,000-seat template created in %s, event created+published in %s, event.published %d bytes",
		createdIn.Round(time.Millisecond), publishedIn.Round(time.Millisecond), len(rows[0].Payload))
}
