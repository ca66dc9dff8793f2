package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"evently.dev/libs/contracts"
)

// TestIntegrationEndedEventsComplete checks that a published event whose end time has
// passed becomes COMPLETED by the periodic pass, announced once with event.updated
// (status COMPLETED), and seen so by public readers; a running event and an ended draft
// are left alone, and a second pass finds nothing.
func TestIntegrationEndedEventsComplete(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	tplID := h.createTemplate(hallTemplate("Completion Hall"))["id"].(string)
	create := func(name string, publish bool) string {
		id := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody(name, tplID, 48*time.Hour, nil)), http.StatusCreated)["id"].(string)
		if publish {
			h.must(h.do("POST", "/api/v1/admin/events/"+id+"/publish", admin, nil), http.StatusOK)
		}
		return id
	}
	ended, running, draft := create("Ended", true), create("Running", true), create("Ended draft", false)
	// The API refuses past dates, so the clock of these events is moved in the database.
	for _, id := range []string{ended, draft} {
		if _, err := h.db.NewRaw("UPDATE events SET starts_at = now() - interval '4 hours', ends_at = now() - interval '1 hour' WHERE id = ?", id).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A public read before the pass caches the event as PUBLISHED.
	if got := h.must(h.do("GET", "/api/v1/events/"+ended, user, nil), http.StatusOK)["status"]; got != "PUBLISHED" {
		t.Fatalf("before the pass: %v", got)
	}

	n, err := h.app.CompleteEndedEvents(ctx, 10)
	if err != nil || n != 1 {
		t.Fatalf("completed %d (want 1), err %v", n, err)
	}
	for id, want := range map[string]string{ended: "COMPLETED", running: "PUBLISHED", draft: "DRAFT"} {
		if got := h.must(h.do("GET", "/api/v1/admin/events/"+id, admin, nil), http.StatusOK)["status"]; got != want {
			t.Errorf("event %s: %v, want %s", id, got, want)
		}
	}
	if got := h.must(h.do("GET", "/api/v1/events/"+ended, user, nil), http.StatusOK)["status"]; got != "COMPLETED" {
		t.Fatalf("public read after the pass: %v (stale cache?)", got)
	}
	var announced int
	for _, row := range h.outbox(contracts.TypeEventUpdated) {
		if err := contracts.Validate(contracts.TypeEventUpdated, row.Payload); err != nil {
			t.Fatalf("event.updated breaks its schema: %v", err)
		}
		var p contracts.EventUpdated
		if err := json.Unmarshal(row.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.EventID == ended && p.Status == "COMPLETED" {
			announced++
		}
	}
	if announced != 1 {
		t.Fatalf("%d event.updated COMPLETED for the ended event, want 1", announced)
	}
	if n, err := h.app.CompleteEndedEvents(ctx, 10); err != nil || n != 0 {
		t.Fatalf("second pass completed %d, err %v", n, err)
	}
}
