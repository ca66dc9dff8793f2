package http_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"evently.dev/libs/contracts"
)

func TestIntegrationEventLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tpl := h.createTemplate(hallTemplate("Conference Hall"))
	tplID, secs := tpl["id"].(string), sectionIDs(tpl)

	t.Run("validation", func(t *testing.T) {
		h.problem(h.do("POST", "/api/v1/admin/events", admin, map[string]any{}), http.StatusUnprocessableEntity,
			"name", "venue_template_id", "date_time", "end_time", "base_price", "currency")
		h.problem(h.do("POST", "/api/v1/admin/events", admin, eventBody("Past", tplID, -time.Hour, nil)),
			http.StatusUnprocessableEntity, "date_time")
		h.problem(h.do("POST", "/api/v1/admin/events", admin, eventBody("Unknown venue", "0192a5d2-0000-7000-8000-000000000001", time.Hour, nil)),
			http.StatusUnprocessableEntity, "venue_template_id")
		h.problem(h.do("POST", "/api/v1/admin/events", admin, eventBody("Bad multipliers", tplID, time.Hour, map[string]any{
			"section_pricing": []any{map[string]any{"section_id": secs[0], "price_multiplier": 0.05},
				map[string]any{"section_id": secs[1], "price_multiplier": 11}}})),
			http.StatusUnprocessableEntity, "section_pricing[0].price_multiplier", "section_pricing[1].price_multiplier")
		h.problem(h.do("POST", "/api/v1/admin/events", admin, eventBody("Foreign section", tplID, time.Hour, map[string]any{
			"section_pricing": []any{map[string]any{"section_id": "0192a5d2-0000-7000-8000-000000000001", "price_multiplier": 2}}})),
			http.StatusUnprocessableEntity, "section_pricing[0].section_id")
		h.problem(h.do("POST", "/api/v1/admin/events", admin, eventBody("Money", tplID, time.Hour, map[string]any{
			"currency": "rupees", "hold_limit_per_user": 51})), http.StatusUnprocessableEntity, "currency", "hold_limit_per_user")
		h.problem(h.do("POST", "/api/v1/admin/events", admin, eventBody("Float price", tplID, time.Hour, map[string]any{
			"base_price": 12.5})), http.StatusBadRequest, "base_price")
		h.problem(h.do("POST", "/api/v1/admin/events", admin, eventBody("Bad multiplier type", tplID, time.Hour, map[string]any{
			"section_pricing": []any{map[string]any{"section_id": secs[0], "price_multiplier": "lots"}}})), http.StatusBadRequest)
		h.problem(h.do("POST", "/api/v1/admin/events", user, eventBody("As user", tplID, time.Hour, nil)), http.StatusForbidden)
		h.problem(h.do("POST", "/api/v1/admin/events", anon, eventBody("Anonymous", tplID, time.Hour, nil)), http.StatusUnauthorized)
	})

	draft := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Tech Conference", tplID, 48*time.Hour, map[string]any{
		"tags":            []string{"ai", "cloud"},
		"section_pricing": []any{map[string]any{"section_id": secs[0], "price_multiplier": 1.005}},
	})), http.StatusCreated)
	id := draft["id"].(string)
	if draft["status"] != "DRAFT" || draft["hold_limit_per_user"] != 8.0 || draft["total_capacity"] != 28.0 {
		t.Fatalf("draft %v", draft)
	}
	// 150000 × 1.005 = 150750 exactly (float64 maths would say 150749.99…).
	if p := draft["sections"].([]any)[0].(map[string]any)["price"]; p != 150750.0 {
		t.Fatalf("VIP price %v", p)
	}
	h.problem(h.do("GET", "/api/v1/events/"+id, anon, nil), http.StatusNotFound)
	h.problem(h.do("GET", "/api/v1/events/"+id, user, nil), http.StatusNotFound)
	if len(h.outbox(contracts.TypeEventPublished)) != 0 {
		t.Fatal("a draft must not be announced")
	}

	up := h.must(h.do("PUT", "/api/v1/admin/events/"+id, admin, map[string]any{"base_price": 100000,
		"section_pricing": []any{map[string]any{"section_id": secs[0], "price_multiplier": 2}}}), http.StatusOK)
	if up["sections"].([]any)[0].(map[string]any)["price"] != 200000.0 || up["name"] != "Tech Conference" {
		t.Fatalf("updated draft %v", up)
	}

	pub := h.must(h.do("POST", "/api/v1/admin/events/"+id+"/publish", admin, nil), http.StatusOK)
	if pub["status"] != "PUBLISHED" || pub["published_at"] == nil {
		t.Fatalf("published %v", pub)
	}
	h.problem(h.do("POST", "/api/v1/admin/events/"+id+"/publish", admin, nil), http.StatusConflict)
	rows := h.outbox(contracts.TypeEventPublished)
	if len(rows) != 1 || rows[0].Key != id || rows[0].Topic != contracts.TopicCatalogEvents {
		t.Fatalf("event.published rows %+v", rows)
	}
	validate(t, contracts.TypeEventPublished, rows[0].Payload)
	var msg contracts.EventPublished
	if err := json.Unmarshal(rows[0].Payload, &msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.Sections) != 2 || msg.Sections[0].Price != 200000 || msg.Sections[1].Capacity != 20 ||
		len(msg.Sections[1].Rows) != 2 || msg.Sections[1].Rows[1].Label != "C" || msg.Currency != "INR" {
		t.Fatalf("event.published %+v", msg)
	}

	// Public view: sections with availability.
	ev := h.must(h.do("GET", "/api/v1/events/"+id, anon, nil), http.StatusOK)
	for _, k := range []string{"id", "name", "description", "category", "tags", "date_time", "end_time", "venue_template_id",
		"venue_name", "status", "base_price", "currency", "sections", "total_capacity", "booked_count", "available_tickets",
		"hold_limit_per_user"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("GET /events/{id} lacks %s", k)
		}
	}
	if ev["venue_name"] != "Conference Hall" || ev["available_tickets"] != 28.0 {
		t.Fatalf("event %v", ev)
	}
	h.problem(h.do("GET", "/api/v1/events/"+id+"/sections", anon, nil), http.StatusUnauthorized)
	secResp := h.must(h.do("GET", "/api/v1/events/"+id+"/sections", user, nil), http.StatusOK)
	if items := secResp["items"].([]any); len(items) != 2 || items[1].(map[string]any)["available"] != 20.0 {
		t.Fatalf("sections %v", secResp)
	}

	// Published: the layout is frozen; times and prices may change and are announced.
	h.problem(h.do("PUT", "/api/v1/admin/events/"+id, admin, map[string]any{"currency": "USD"}), http.StatusConflict)
	other := h.createTemplate(hallTemplate("Other Hall"))
	h.problem(h.do("PUT", "/api/v1/admin/events/"+id, admin, map[string]any{"venue_template_id": other["id"]}), http.StatusConflict)
	h.problem(h.do("PUT", "/api/v1/admin/events/"+id, admin, map[string]any{"date_time": future(-time.Hour)}),
		http.StatusUnprocessableEntity, "date_time")
	h.must(h.do("PUT", "/api/v1/admin/events/"+id, admin, map[string]any{"name": "Tech Conference 2026", "hold_limit_per_user": 4}), http.StatusOK)
	upd := h.outbox(contracts.TypeEventUpdated)
	if len(upd) != 1 {
		t.Fatalf("event.updated rows %d", len(upd))
	}
	validate(t, contracts.TypeEventUpdated, upd[0].Payload)
	if !strings.Contains(string(upd[0].Payload), `"hold_limit_per_user": 4`) && !strings.Contains(string(upd[0].Payload), `"hold_limit_per_user":4`) {
		t.Fatalf("event.updated %s", upd[0].Payload)
	}

	// The template is now in use.
	h.problem(h.do("DELETE", "/api/v1/admin/venue-templates/"+tplID, admin, nil), http.StatusConflict)

	can := h.must(h.do("POST", "/api/v1/admin/events/"+id+"/cancel", admin, map[string]any{"reason": "venue flooded"}), http.StatusOK)
	if can["status"] != "CANCELLED" || can["cancel_reason"] != "venue flooded" {
		t.Fatalf("cancelled %v", can)
	}
	cr := h.outbox(contracts.TypeEventCancelled)
	if len(cr) != 1 {
		t.Fatalf("event.cancelled rows %d", len(cr))
	}
	validate(t, contracts.TypeEventCancelled, cr[0].Payload)
	h.problem(h.do("POST", "/api/v1/admin/events/"+id+"/cancel", admin, nil), http.StatusConflict)
	h.problem(h.do("PUT", "/api/v1/admin/events/"+id, admin, map[string]any{"name": "Again"}), http.StatusConflict)
	h.problem(h.do("DELETE", "/api/v1/admin/events/"+id, admin, nil), http.StatusConflict)

	t.Run("delete", func(t *testing.T) {
		d := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Scrapped", tplID, time.Hour, nil)), http.StatusCreated)
		h.must(h.do("DELETE", "/api/v1/admin/events/"+d["id"].(string), admin, nil), http.StatusNoContent)
		h.problem(h.do("GET", "/api/v1/admin/events/"+d["id"].(string), admin, nil), http.StatusNotFound)

		p := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Live", tplID, time.Hour, map[string]any{"status": "PUBLISHED"})), http.StatusCreated)
		del := h.must(h.do("DELETE", "/api/v1/admin/events/"+p["id"].(string), admin, nil), http.StatusOK)
		if del["status"] != "CANCELLED" {
			t.Fatalf("deleting a published event cancels it: %v", del["status"])
		}
		if len(h.outbox(contracts.TypeEventCancelled)) != 2 {
			t.Fatal("the cancel by DELETE must be announced")
		}
		h.problem(h.do("DELETE", "/api/v1/admin/events/not-a-uuid", admin, nil), http.StatusBadRequest)
		h.problem(h.do("POST", "/api/v1/admin/events/0192a5d2-0000-7000-8000-000000000001/publish", admin, nil), http.StatusNotFound)
	})
}

func TestIntegrationCancellationPolicies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tpl := h.createTemplate(hallTemplate("Hall"))
	ev := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Show", tpl["id"].(string), 240*time.Hour, nil)), http.StatusCreated)
	id := ev["id"].(string)
	base := "/api/v1/admin/events/" + id + "/cancellation-policy"

	h.problem(h.do("GET", base, admin, nil), http.StatusNotFound)
	h.problem(h.do("PUT", base, admin, map[string]any{"fee_type": "NONE"}), http.StatusNotFound)
	h.problem(h.do("POST", base, admin, map[string]any{"fee_type": "PERCENTAGE", "fee_amount": 150,
		"refund_tiers":          []any{map[string]any{"hours_before": 24, "refund_percent": 50}, map[string]any{"hours_before": 24, "refund_percent": 120}},
		"cancellation_deadline": "soon"}), http.StatusUnprocessableEntity,
		"fee_amount", "refund_tiers[1].hours_before", "refund_tiers[1].refund_percent", "cancellation_deadline")
	h.problem(h.do("POST", base, admin, map[string]any{"fee_type": "SOMETIMES"}), http.StatusUnprocessableEntity, "fee_type")
	h.problem(h.do("POST", base, user, map[string]any{}), http.StatusForbidden)

	deadline := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	p := h.must(h.do("POST", base, admin, map[string]any{"allow_cancellation": true, "cancellation_deadline": deadline,
		"fee_type": "PERCENTAGE", "fee_amount": 10, "requires_approval": false, "refund_processing_days": 5,
		"refund_tiers": []any{map[string]any{"hours_before": 24, "refund_percent": 50}, map[string]any{"hours_before": 168, "refund_percent": 100}}}),
		http.StatusCreated)
	tiers := p["refund_tiers"].([]any)
	if p["policy_version"] != 1.0 || tiers[0].(map[string]any)["hours_before"] != 168.0 || p["cancellation_deadline"] != deadline {
		t.Fatalf("policy %v", p)
	}
	h.problem(h.do("POST", base, admin, map[string]any{}), http.StatusConflict)

	// Drafts keep their policy private; published events show it to anyone.
	h.problem(h.do("GET", "/api/v1/events/"+id+"/cancellation-policy", anon, nil), http.StatusNotFound)
	p2 := h.must(h.do("PUT", base, admin, map[string]any{"fee_type": "FIXED", "fee_amount": 5000, "cancellation_deadline": nil}), http.StatusOK)
	if p2["policy_version"] != 2.0 || p2["fee_amount"] != 5000.0 || len(p2["refund_tiers"].([]any)) != 2 || p2["cancellation_deadline"] != nil {
		t.Fatalf("policy v2 %v", p2)
	}
	h.must(h.do("POST", "/api/v1/admin/events/"+id+"/publish", admin, nil), http.StatusOK)
	pub := h.must(h.do("GET", "/api/v1/events/"+id+"/cancellation-policy", anon, nil), http.StatusOK)
	if pub["policy_version"] != 2.0 || pub["fee_type"] != "FIXED" {
		t.Fatalf("public policy %v", pub)
	}

	rows := h.outbox(contracts.TypePolicyUpdated)
	if len(rows) != 2 {
		t.Fatalf("policy.updated rows %d", len(rows))
	}
	for _, r := range rows {
		validate(t, contracts.TypePolicyUpdated, r.Payload)
	}
	var published contracts.EventPublished
	pr := h.outbox(contracts.TypeEventPublished)
	if err := json.Unmarshal(pr[0].Payload, &published); err != nil || published.Policy == nil || published.Policy.PolicyVersion != 2 {
		t.Fatalf("event.published must carry the current policy: %s", pr[0].Payload)
	}
	validate(t, contracts.TypeEventPublished, pr[0].Payload)
}
