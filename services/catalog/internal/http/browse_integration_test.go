package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/logging"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/catalog/internal/events"
)

func names(m map[string]any) []string {
	var out []string
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

func total(m map[string]any) int { return int(m["page"].(map[string]any)["total"].(float64)) }

func TestIntegrationBrowse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	hall := h.createTemplate(hallTemplate("Conference Hall"))
	theater := h.createTemplate(map[string]any{"name": "Small Theater", "layout_type": "THEATER", "sections": []any{
		map[string]any{"name": "Premium", "row_start": "A", "row_end": "A", "seats_per_row": 13},
		map[string]any{"name": "Standard", "row_start": "B", "row_end": "B", "seats_per_row": 13}}})
	mk := func(name, tpl, category string, tags []string, days int, base int, published bool) string {
		extra := map[string]any{"category": category, "tags": tags, "base_price": base}
		if published {
			extra["status"] = "PUBLISHED"
		}
		ev := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody(name, tpl, time.Duration(days)*24*time.Hour, extra)), http.StatusCreated)
		return ev["id"].(string)
	}
	hallID, theaterID := hall["id"].(string), theater["id"].(string)
	mk("Tech Conference", hallID, "tech", []string{"ai", "cloud"}, 15, 150000, true)
	mk("Classical Music Evening", theaterID, "music", []string{"classical"}, 30, 80000, true)
	mk("Startup Pitch Night", hallID, "business", []string{"startups", "ai"}, 45, 50000, true)
	mk("Food & Wine Festival", theaterID, "food", []string{"wine"}, 60, 120000, true)
	mk("Secret Draft", hallID, "tech", []string{"ai"}, 20, 1000, false)

	get := func(q string) map[string]any {
		t.Helper()
		return h.must(h.do("GET", "/api/v1/events?"+q, anon, nil), http.StatusOK)
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"", []string{"Tech Conference", "Classical Music Evening", "Startup Pitch Night", "Food & Wine Festival"}},
		{"q=tech", []string{"Tech Conference"}},
		{"q=conf", []string{"Tech Conference"}},
		{"q=" + url.QueryEscape("evening about startup"), []string{"Startup Pitch Night"}},
		{"q=" + url.QueryEscape("&|!:*"), nil},
		{"category=music", []string{"Classical Music Evening"}},
		{"tags=ai", []string{"Tech Conference", "Startup Pitch Night"}},
		{"tags=wine,classical", []string{"Classical Music Evening", "Food & Wine Festival"}},
		{"venue_template_id=" + theaterID, []string{"Classical Music Evening", "Food & Wine Festival"}},
		{"date_from=" + time.Now().Add(20*24*time.Hour).Format("2006-01-02") + "&date_to=" + time.Now().Add(50*24*time.Hour).Format("2006-01-02"),
			[]string{"Classical Music Evening", "Startup Pitch Night"}},
		{"min_price=100000&max_price=130000", []string{"Food & Wine Festival"}},
		{"max_price=60000", []string{"Startup Pitch Night"}},
		{"sort=price", []string{"Startup Pitch Night", "Classical Music Evening", "Food & Wine Festival", "Tech Conference"}},
		{"sort=-price", []string{"Tech Conference", "Food & Wine Festival", "Classical Music Evening", "Startup Pitch Night"}},
		{"sort=name", []string{"Classical Music Evening", "Food & Wine Festival", "Startup Pitch Night", "Tech Conference"}},
		{"sort=-date&limit=2", []string{"Food & Wine Festival", "Startup Pitch Night"}},
		{"available_only=true&category=tech", []string{"Tech Conference"}},
	}
	for _, tc := range tests {
		got := names(get(tc.q))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("GET /events?%s = %v, want %v", tc.q, got, tc.want)
		}
	}
	page := get("limit=2&offset=2")
	if total(page) != 4 || len(page["items"].([]any)) != 2 || page["page"].(map[string]any)["offset"] != 2.0 {
		t.Fatalf("page %v", page["page"])
	}
	if p := get("limit=2&offset=10"); total(p) != 4 || len(p["items"].([]any)) != 0 {
		t.Fatalf("past the end %v", p["page"])
	}
	for q, field := range map[string]string{"limit=101": "limit", "offset=-1": "offset", "sort=random": "sort",
		"status=DRAFT": "status", "min_price=abc": "min_price", "date_from=tomorrow": "date_from",
		"venue_template_id=x": "venue_template_id", "available_only=perhaps": "available_only"} {
		h.problem(h.do("GET", "/api/v1/events?"+q, anon, nil), http.StatusBadRequest, field)
	}

	adminAll := h.must(h.do("GET", "/api/v1/admin/events", admin, nil), http.StatusOK)
	if total(adminAll) != 5 {
		t.Fatalf("admins see every status: %d", total(adminAll))
	}
	drafts := h.must(h.do("GET", "/api/v1/admin/events?status=DRAFT", admin, nil), http.StatusOK)
	if fmt.Sprint(names(drafts)) != "[Secret Draft]" {
		t.Fatalf("drafts %v", names(drafts))
	}
	h.problem(h.do("GET", "/api/v1/admin/events", user, nil), http.StatusForbidden)

	up := h.must(h.do("GET", "/api/v1/events/upcoming?limit=2", anon, nil), http.StatusOK)
	if fmt.Sprint(names(up)) != "[Tech Conference Classical Music Evening]" {
		t.Fatalf("upcoming %v", names(up))
	}
	h.problem(h.do("GET", "/api/v1/events/upcoming?limit=500", anon, nil), http.StatusBadRequest, "limit")

	tags := h.must(h.do("GET", "/api/v1/tags/active", anon, nil), http.StatusOK)
	var slugs []string
	for _, it := range tags["items"].([]any) {
		tg := it.(map[string]any)
		slugs = append(slugs, fmt.Sprintf("%s:%v", tg["slug"], tg["event_count"]))
	}
	if fmt.Sprint(slugs) != "[ai:2 classical:1 cloud:1 startups:1 wine:1]" {
		t.Fatalf("active tags %v", slugs)
	}
}

func TestIntegrationTagsAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tag := h.must(h.do("POST", "/api/v1/admin/tags", admin, map[string]any{"slug": "live-music"}), http.StatusCreated)
	if tag["name"] != "Live Music" {
		t.Fatalf("tag %v", tag)
	}
	id := tag["id"].(string)
	h.problem(h.do("POST", "/api/v1/admin/tags", admin, map[string]any{"slug": "live-music"}), http.StatusConflict)
	h.problem(h.do("POST", "/api/v1/admin/tags", admin, map[string]any{"slug": "Live Music"}), http.StatusUnprocessableEntity, "slug")
	h.problem(h.do("POST", "/api/v1/admin/tags", user, map[string]any{"slug": "x"}), http.StatusForbidden)
	up := h.must(h.do("PUT", "/api/v1/admin/tags/"+id, admin, map[string]any{"name": "Gigs"}), http.StatusOK)
	if up["name"] != "Gigs" || up["slug"] != "live-music" {
		t.Fatalf("updated %v", up)
	}
	list := h.must(h.do("GET", "/api/v1/admin/tags", admin, nil), http.StatusOK)
	if total(list) != 1 {
		t.Fatalf("tags %v", list)
	}
	h.must(h.do("GET", "/api/v1/admin/tags/"+id, admin, nil), http.StatusOK)
	h.must(h.do("DELETE", "/api/v1/admin/tags/"+id, admin, nil), http.StatusNoContent)
	h.problem(h.do("DELETE", "/api/v1/admin/tags/"+id, admin, nil), http.StatusNotFound)
}

func TestIntegrationCacheInvalidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tpl := h.createTemplate(hallTemplate("Hall"))
	ev := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Before", tpl["id"].(string), 48*time.Hour,
		map[string]any{"status": "PUBLISHED"})), http.StatusCreated)
	id := ev["id"].(string)
	if fmt.Sprint(names(h.must(h.do("GET", "/api/v1/events?q=before", anon, nil), http.StatusOK))) != "[Before]" {
		t.Fatal("first listing")
	}
	h.must(h.do("GET", "/api/v1/events/"+id, anon, nil), http.StatusOK)
	keys, err := h.rdb.Keys(context.Background(), h.prefix+"catalog:v1:*").Result()
	if err != nil || len(keys) < 2 {
		t.Fatalf("answers must be cached under the prefix: %v %v", keys, err)
	}

	// A change behind the cache's back (no invalidation) is not seen: proof the cache answers.
	if _, err := h.db.ExecContext(context.Background(), "UPDATE events SET name = 'Sneaky' WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	if got := h.must(h.do("GET", "/api/v1/events/"+id, anon, nil), http.StatusOK)["name"]; got != "Before" {
		t.Fatalf("expected the cached answer, got %v", got)
	}
	// A change through the API is seen at once, in listings and single reads.
	h.must(h.do("PUT", "/api/v1/admin/events/"+id, admin, map[string]any{"name": "After"}), http.StatusOK)
	if got := names(h.must(h.do("GET", "/api/v1/events?q=before", anon, nil), http.StatusOK)); fmt.Sprint(got) != "[After]" {
		t.Fatalf("stale listing %v", got)
	}
	if got := h.must(h.do("GET", "/api/v1/events/"+id, anon, nil), http.StatusOK)["name"]; got != "After" {
		t.Fatalf("stale event %v", got)
	}
}

// TestIntegrationAvailabilityFromKafka runs the real consumer on inventory's topic: counts
// in seats.sold / seats.released become the event's booked_count and section availability,
// whether they arrive together (one batch, summed) or one by one.
func TestIntegrationAvailabilityFromKafka(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, contracts.TopicInventorySeats)
	tpl := h.createTemplate(hallTemplate("Hall"))
	ev := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("Rush", tpl["id"].(string), 48*time.Hour,
		map[string]any{"status": "PUBLISHED"})), http.StatusCreated)
	id, secs := ev["id"].(string), sectionIDs(tpl)
	h.must(h.do("GET", "/api/v1/events/"+id, anon, nil), http.StatusOK) // warm the cache

	p := kafkatest.Producer(t, cfg)
	send := func(typ string, payload any) {
		e, err := kafka.NewEvent(cfg.Topic(contracts.TopicInventorySeats), id, typ, "/services/inventory", payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.SendMessage(e.ProducerMessage()); err != nil {
			t.Fatal(err)
		}
	}
	send(contracts.TypeHoldCreated, contracts.HoldCreated{HoldID: "h", EventID: id, SeatIDs: []string{"A-RA-S1"}})
	seats := func(sec string, from, n int) []contracts.SoldSeat {
		out := make([]contracts.SoldSeat, n)
		for i := range out {
			out[i] = contracts.SoldSeat{SeatID: fmt.Sprintf("%s-%d", sec, from+i), SectionID: sec, Price: 100}
		}
		return out
	}
	// The counter snapshots are deliberately stale: catalog must count the seats.
	send(contracts.TypeSeatsSold, contracts.SeatsSold{EventID: id, BookingID: "b", SoldAt: time.Now(), Capacity: 28, SoldTotal: 1,
		Seats:    append(seats(secs[0], 0, 3), seats(secs[1], 0, 2)...),
		Sections: []contracts.SectionCount{{SectionID: secs[0], Capacity: 8, Sold: 1}}})
	send(contracts.TypeSeatsReleased, contracts.SeatsReleased{EventID: id, Reason: contracts.ReleaseBookingCancelled, Capacity: 28,
		SoldTotal: 0, Seats: seats(secs[0], 0, 1), Sections: []contracts.SectionCount{{SectionID: secs[0], Capacity: 8, Sold: 0}}})
	// Started after the first facts, so they arrive as one batch.
	// The service's wiring: a batch's moves are summed and written once per event.
	avail := events.NewAvailability(h.app, logging.NewTo(io.Discard, "t", "error"))
	r, err := consumer.New(cfg, h.db, consumer.Options{Group: testkit.Name(t, "catalog-availability"),
		Topics: []string{contracts.TopicInventorySeats}, Handler: avail.Handler(), Scope: avail.Scope})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testkit.Eventually(t, 30*time.Second, r.Ready, "consumer joined")

	testkit.Eventually(t, 30*time.Second, func() bool {
		ev := h.must(h.do("GET", "/api/v1/events/"+id, anon, nil), http.StatusOK)
		s0 := ev["sections"].([]any)[0].(map[string]any)
		return ev["booked_count"] == 4.0 && ev["available_tickets"] == 24.0 && s0["available"] == 6.0
	}, "availability from seats.sold then seats.released")
	// Sold out events drop out of available_only listings.
	send(contracts.TypeSeatsSold, contracts.SeatsSold{EventID: id, Capacity: 28, SoldTotal: 28,
		Seats: append(seats(secs[0], 10, 6), seats(secs[1], 10, 18)...)})
	testkit.Eventually(t, 30*time.Second, func() bool {
		return total(h.must(h.do("GET", "/api/v1/events?available_only=true", anon, nil), http.StatusOK)) == 0
	}, "sold-out event hidden by available_only")
}

// TestIntegrationEventPublishedOnKafka publishes through the real outbox relay and reads
// event.published back from Kafka with a plain consumer.
func TestIntegrationEventPublishedOnKafka(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, contracts.TopicCatalogEvents)
	relay := outbox.NewRelay(h.db, cfg, outbox.RelayOptions{Logger: logging.NewTo(io.Discard, "t", "error"), PollInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	tpl := h.createTemplate(hallTemplate("Hall"))
	ev := h.must(h.do("POST", "/api/v1/admin/events", admin, eventBody("On Kafka", tpl["id"].(string), 48*time.Hour,
		map[string]any{"status": "PUBLISHED"})), http.StatusCreated)
	id := ev["id"].(string)
	msgs, err := kafkatest.Collect(cfg, cfg.Topic(contracts.TopicCatalogEvents), 30*time.Second, func(got []*sarama.ConsumerMessage) bool {
		return len(got) >= 1
	})
	if err != nil || len(msgs) == 0 {
		t.Fatalf("nothing read back: %v", err)
	}
	e, err := kafka.EventFromMessage(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != contracts.TypeEventPublished || e.Key != id || e.Source != "/services/catalog" {
		t.Fatalf("envelope %+v", e)
	}
	validate(t, e.Type, e.Data)
	var p contracts.EventPublished
	_ = json.Unmarshal(e.Data, &p)
	if p.EventID != id || len(p.Sections) != 2 || p.Sections[0].Rows[0].Last != 8 {
		t.Fatalf("payload %s", e.Data)
	}
}
