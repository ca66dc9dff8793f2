package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"evently.dev/libs/contracts"
	"evently.dev/libs/testkit"
)

func TestCatalogPublishFlowThroughGateway(t *testing.T) {
	adminTok := adminToken(t)
	userTok := registerUser(t).AccessToken

	eventID, sections := createPublishedEvent(t, adminTok, map[string]any{"tags": []string{"e2e", "gateway-flow"}})
	if len(sections) != 2 || sections[0].Price != 300000 || sections[1].Price != 150000 || sections[0].Capacity != 8 {
		t.Fatalf("sections %+v", sections)
	}
	if got := sections[1].FirstSeats(2); got[0] != "B-RB-S1" || got[1] != "B-RB-S2" {
		t.Fatalf("seat ids %v", got)
	}

	ev := expect(t, call(t, "GET", "/api/v1/events/"+eventID, "", nil), 200).JSON(t)
	if ev["status"] != "PUBLISHED" || ev["total_capacity"] != 28.0 || ev["available_tickets"] != 28.0 || ev["booked_count"] != 0.0 {
		t.Fatalf("public event %v", ev)
	}
	// The gateway keeps public reads for a moment: the same answer again, with an ETag that
	// a client can revalidate for a bodiless 304.
	var again resp
	for range 5 { // two reads within READ_CACHE_TTL, even on a busy machine
		if again = expect(t, call(t, "GET", "/api/v1/events/"+eventID, "", nil), 200); again.Header.Get("X-Cache") == "HIT" {
			break
		}
	}
	if again.Header.Get("X-Cache") != "HIT" || again.Header.Get("ETag") == "" {
		t.Fatalf("second read: X-Cache %q, ETag %q", again.Header.Get("X-Cache"), again.Header.Get("ETag"))
	}
	if r := call(t, "GET", "/api/v1/events/"+eventID, "", nil, "If-None-Match", again.Header.Get("ETag")); r.Status != 304 || len(r.Body) != 0 {
		t.Fatalf("revalidation: %d %q", r.Status, r.Body)
	}
	expectProblem(t, call(t, "GET", "/api/v1/events/"+eventID+"/sections", "", nil), 401)
	secs := expect(t, call(t, "GET", "/api/v1/events/"+eventID+"/sections", userTok, nil), 200).JSON(t)
	if len(secs["items"].([]any)) != 2 {
		t.Fatalf("sections %v", secs)
	}

	// Policy: created by the admin, readable by anyone.
	deadline := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	p := setCancellationPolicy(t, adminTok, eventID, map[string]any{"allow_cancellation": true, "cancellation_deadline": deadline,
		"fee_type": "PERCENTAGE", "fee_amount": 10, "refund_tiers": []any{map[string]any{"hours_before": 24, "refund_percent": 100}}})
	if p["policy_version"] != 1.0 {
		t.Fatalf("policy %v", p)
	}
	pub := expect(t, call(t, "GET", "/api/v1/events/"+eventID+"/cancellation-policy", "", nil), 200).JSON(t)
	if pub["fee_type"] != "PERCENTAGE" {
		t.Fatalf("public policy %v", pub)
	}
	expectProblem(t, call(t, "POST", "/api/v1/admin/events/"+eventID+"/cancellation-policy", adminTok, map[string]any{}), 409)

	// USERs are kept off admin paths (the gateway and the service both say 403).
	expectProblem(t, call(t, "POST", "/api/v1/admin/venue-templates", userTok, hallTemplateBody()), 403)
	expectProblem(t, call(t, "GET", "/api/v1/admin/events", userTok, nil), 403)

	// Found by tag in the public listing.
	list := expect(t, call(t, "GET", "/api/v1/events?tags=gateway-flow", "", nil), 200).JSON(t)
	if items := list["items"].([]any); len(items) < 1 || items[0].(map[string]any)["id"] != eventID {
		t.Fatalf("listing by tag %v", list)
	}

	// event.published and policy.updated left through the outbox, schema-valid.
	for _, typ := range []string{contracts.TypeEventPublished, contracts.TypePolicyUpdated} {
		payload := waitCatalogOutboxSent(t, eventID, typ)
		if err := contracts.Validate(typ, payload); err != nil {
			t.Fatal(err)
		}
	}

	// Cancel: announced too, and the public view says so.
	expect(t, call(t, "POST", "/api/v1/admin/events/"+eventID+"/cancel", adminTok, map[string]any{"reason": "e2e"}), 200)
	waitCatalogOutboxSent(t, eventID, contracts.TypeEventCancelled)
	// The gateway may answer public reads from its read cache for READ_CACHE_TTL; a client
	// asking for no-cache gets the service's answer at once.
	if got := expect(t, call(t, "GET", "/api/v1/events/"+eventID, "", nil, "Cache-Control", "no-cache"), 200).JSON(t)["status"]; got != "CANCELLED" {
		t.Fatalf("status after cancel %v", got)
	}
}

func TestCatalogValidationThroughGateway(t *testing.T) {
	adminTok := adminToken(t)
	tpl := createTemplate(t, adminTok, hallTemplateBody())
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	m := expectProblem(t, call(t, "POST", "/api/v1/admin/events", adminTok, map[string]any{"name": "Past", "venue_template_id": tpl["id"],
		"date_time": past, "end_time": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "base_price": 100, "currency": "INR"}), 422)
	if errs, _ := m["errors"].([]any); len(errs) == 0 || errs[0].(map[string]any)["field"] != "date_time" {
		t.Fatalf("want a field error on date_time: %v", m)
	}
	expectProblem(t, call(t, "GET", "/api/v1/events?limit=101", "", nil), 400)
	expectProblem(t, call(t, "GET", "/api/v1/events?sort=random", "", nil), 400)
	expectProblem(t, call(t, "GET", "/api/v1/events/not-a-uuid", "", nil), 400)
	expectProblem(t, call(t, "GET", "/api/v1/events/0192a5d2-0000-7000-8000-000000000001", "", nil), 404)
	expectProblem(t, call(t, "POST", "/api/v1/admin/venue-templates", adminTok, map[string]any{"name": tpl["name"]}), 409)
	up := expect(t, call(t, "GET", "/api/v1/events/upcoming?limit=5", "", nil), 200).JSON(t)
	if _, ok := up["page"]; !ok {
		t.Fatalf("upcoming %v", up)
	}
	q := expect(t, call(t, "GET", "/api/v1/events?q="+url.QueryEscape("e2e event")+"&limit=1", "", nil), 200).JSON(t)
	if _, ok := q["items"]; !ok {
		t.Fatalf("search %v", q)
	}
}

// waitCatalogOutboxSent waits until the relay sent the event's message of type typ and
// returns its payload.
func waitCatalogOutboxSent(t *testing.T, eventID, typ string) []byte {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, sys.DatabaseURL)
	if err != nil {
		t.Skipf("no database of the system under test: %v", err)
	}
	defer conn.Close(ctx)
	var payload []byte
	found := false
	testkit.Eventually(t, 20*time.Second, func() bool {
		var sent bool
		err := conn.QueryRow(ctx, `SELECT payload::text, sent_at IS NOT NULL FROM catalog.outbox
			WHERE key = $1 AND type = $2 ORDER BY created_at DESC LIMIT 1`, eventID, typ).Scan(&payload, &sent)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		found = err == nil
		return found && sent
	}, "%s for %s sent by the relay (row found: %v)", typ, eventID, testkit.Lazy(func() string { return fmt.Sprint(found) }))
	if !json.Valid(payload) {
		t.Fatalf("%s payload is not JSON", typ)
	}
	return payload
}
