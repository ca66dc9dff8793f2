package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"evently.dev/libs/assertion"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka/kafkatest"
	"evently.dev/libs/testkit"

	"evently.dev/services/analytics/internal/app"
	"evently.dev/services/analytics/internal/domain"
	"evently.dev/services/analytics/internal/events"
)

type moneyJSON struct {
	Currency       string  `json:"currency"`
	Bookings       int64   `json:"bookings"`
	Cancellations  int64   `json:"cancellations"`
	SeatsSold      int64   `json:"seats_sold"`
	SeatsCancelled int64   `json:"seats_cancelled"`
	Gross          int64   `json:"gross_revenue"`
	Refunds        int64   `json:"refunds"`
	Net            int64   `json:"net_revenue"`
	Rate           float64 `json:"cancellation_rate"`
}

type overviewJSON struct {
	Timezone            string      `json:"timezone"`
	Events              int64       `json:"events"`
	CancelledEvents     int64       `json:"cancelled_events"`
	Bookings            int64       `json:"bookings"`
	Cancellations       int64       `json:"cancellations"`
	SeatsSold           int64       `json:"seats_sold"`
	LedgerSeatsSold     int64       `json:"ledger_seats_sold"`
	Capacity            int64       `json:"capacity"`
	CapacityUtilisation float64     `json:"capacity_utilisation"`
	CancellationRate    float64     `json:"cancellation_rate"`
	Revenue             []moneyJSON `json:"revenue"`
	Holds               struct {
		Created, Converted, Expired, Released int64
	} `json:"holds"`
	Waitlist struct {
		Length          int64 `json:"length"`
		OffersMade      int64 `json:"offers_made"`
		OffersConverted int64 `json:"offers_converted"`
	} `json:"waitlist"`
}

type eventJSON struct {
	overviewJSON
	EventID  string `json:"event_id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Status   string `json:"status"`
	Sections []struct {
		SectionID       string `json:"section_id"`
		Capacity        int64  `json:"capacity"`
		SeatsSold       int64  `json:"seats_sold"`
		LedgerSeatsSold int64  `json:"ledger_seats_sold"`
		GrossRevenue    int64  `json:"gross_revenue"`
		Revenue         int64  `json:"revenue"`
	} `json:"sections"`
	SalesOverTime struct {
		Hourly []moneyJSON `json:"hourly"`
		Daily  []struct {
			Day string `json:"day"`
			moneyJSON
		} `json:"daily"`
	} `json:"sales_over_time"`
}

type revenueJSON struct {
	Items []struct {
		Group    string `json:"group"`
		Category string `json:"category"`
		moneyJSON
	} `json:"items"`
	Page   struct{ Total int } `json:"page"`
	Totals []moneyJSON         `json:"totals"`
}

func sameMoney(t *testing.T, what string, got moneyJSON, want domain.Sales) {
	t.Helper()
	if got.Bookings != want.Bookings || got.Cancellations != want.Cancellations || got.Gross != want.Gross ||
		got.Refunds != want.Refunds || got.Net != want.Net() || got.SeatsSold != want.SeatsSold() ||
		got.SeatsCancelled != want.SeatsCancelled {
		t.Errorf("%s: got %+v, want %+v (net %d, seats sold %d)", what, got, want, want.Net(), want.SeatsSold())
	}
}

func byCurrency(list []moneyJSON) map[string]moneyJSON {
	m := map[string]moneyJSON{}
	for _, x := range list {
		m[x.Currency] = x
	}
	return m
}

// TestIntegrationScriptedSaleTotalsDuplicatesAndRebuild publishes a scripted sale as real
// CloudEvents on Kafka (published events, holds, sales, cancellations with different
// refunds, an event cancellation, a waitlist), then checks every report against the sums
// of the script, that redelivered messages change nothing, and that a rebuild from the
// topics' beginning reproduces the same numbers and keeps consuming afterwards.
func TestIntegrationScriptedSaleTotalsDuplicatesAndRebuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	berlin, _ := domain.LoadZone("Europe/Berlin")
	sys := newSystem(t, "Europe/Berlin")
	cfg := kafkatest.Config(t)
	kafkatest.Topics(t, cfg, events.Topics...)
	sys.startConsuming(cfg)
	prod := kafkatest.Producer(t, cfg)

	now := time.Now().UTC()
	h := func(hours float64) time.Time { return now.Add(-time.Duration(hours * float64(time.Hour))) }
	s := newScript(t, berlin)
	rock := s.publish("Rock Night", "music", "EUR", h(72),
		contracts.LayoutSection{Name: "Stalls", Capacity: 100, Price: 5000}, contracts.LayoutSection{Name: "Balcony", Capacity: 50, Price: 8000})
	conf := s.publish("Go Conf", "tech-conference", "USD", h(72), contracts.LayoutSection{Name: "Hall", Capacity: 200, Price: 12000})
	gala := s.publish("Gala", "music", "EUR", h(71), contracts.LayoutSection{Name: "Floor", Capacity: 80, Price: 3000})
	stalls, balcony := rockSections(s, rock)
	hall := s.sectionIDs(conf)[0]
	floor := s.sectionIDs(gala)[0]

	b1 := s.book(rock, h(50), seat{stalls, 5000}, seat{stalls, 5000})
	b2 := s.book(rock, h(30), seat{balcony, 8000})
	s.book(rock, now.Add(-3*time.Minute), seat{stalls, 5000}, seat{balcony, 8000})
	b4 := s.book(conf, h(26), seat{hall, 12000}, seat{hall, 12000}, seat{hall, 12000})
	s.book(conf, now.Add(-30*time.Second), seat{hall, 12000})
	s.book(gala, h(40), seat{floor, 3000}, seat{floor, 3000})
	s.book(gala, h(20), seat{floor, 3000})
	s.cancel(b2, 8000, contracts.CancelByUser, h(10)) // full refund
	s.cancel(b1, 5000, contracts.CancelByUser, h(5))  // half refund
	s.cancel(b4, 0, contracts.CancelByUser, h(1))     // no refund
	s.cancelEvent(gala, h(2))
	// Holds that did not convert: one expired, one released, one still live.
	expired := s.hold(rock, 2, h(4), h(3.9))
	s.emit(contracts.TopicInventorySeats, rock.id, contracts.TypeHoldExpired, h(3.9), contracts.HoldExpired{HoldID: expired, EventID: rock.id})
	released := s.hold(conf, 1, h(3), h(2.9))
	s.emit(contracts.TopicInventorySeats, conf.id, contracts.TypeHoldReleased, h(2.95), contracts.HoldReleased{HoldID: released, EventID: conf.id})
	s.hold(rock, 2, now.Add(-time.Minute), now.Add(time.Hour))
	// Waitlist on the conference: three join, one is offered and converts, one leaves.
	w := []string{newID(), newID(), newID()}
	for i, id := range w {
		s.emit(contracts.TopicWaitlist, conf.id, contracts.TypeWaitlistJoined, h(2), contracts.WaitlistJoined{EntryID: id,
			EventID: conf.id, UserID: newID(), Quantity: 1, Position: i + 1, JoinedAt: h(2)})
	}
	s.emit(contracts.TopicWaitlist, conf.id, contracts.TypeWaitlistOffered, h(1.5), contracts.WaitlistOffered{EntryID: w[0],
		EventID: conf.id, HoldID: newID(), OfferedAt: h(1.5), ExpiresAt: h(1.25)})
	s.emit(contracts.TopicWaitlist, conf.id, contracts.TypeWaitlistConverted, h(1.4), contracts.WaitlistConverted{EntryID: w[0],
		EventID: conf.id, BookingID: newID(), ConvertedAt: h(1.4)})
	s.emit(contracts.TopicWaitlist, conf.id, contracts.TypeWaitlistLeft, h(1.3), contracts.WaitlistLeft{EntryID: w[1],
		EventID: conf.id, Reason: "USER", LeftAt: h(1.3)})
	// A type analytics does not read is skipped, not dead-lettered.
	s.emit(contracts.TopicCatalogEvents, rock.id, contracts.TypePolicyUpdated, h(70), contracts.PolicyUpdated{EventID: rock.id})
	send(t, prod, cfg, s.msgs...)

	eur, usd := s.expected("EUR"), s.expected("USD")
	var ov overviewJSON
	testkit.Eventually(t, 60*time.Second, func() bool {
		sys.admin("/api/v1/admin/events/analytics", &ov)
		m := byCurrency(ov.Revenue)
		return m["EUR"].Bookings == eur.Bookings && m["EUR"].Cancellations == eur.Cancellations &&
			m["USD"].Bookings == usd.Bookings && m["USD"].Cancellations == usd.Cancellations &&
			ov.Waitlist.OffersConverted == 1 && ov.Holds.Released == 1 && ov.CancelledEvents == 1
	}, "analytics reflects the scripted sale")
	sys.waitApplied(1)

	check := func(label string) map[string]json.RawMessage {
		t.Helper()
		var ov overviewJSON
		sys.admin("/api/v1/admin/events/analytics", &ov)
		m := byCurrency(ov.Revenue)
		if len(m) != 2 {
			t.Fatalf("%s: revenue per currency %+v, want EUR and USD rows", label, ov.Revenue)
		}
		sameMoney(t, label+" EUR", m["EUR"], eur)
		sameMoney(t, label+" USD", m["USD"], usd)
		wantSold := int64(rock.sold + conf.sold + gala.sold)
		if ov.Events != 3 || ov.CancelledEvents != 1 || ov.SeatsSold != wantSold || ov.LedgerSeatsSold != wantSold ||
			ov.Bookings != eur.Bookings+usd.Bookings || ov.Capacity != int64(rock.capacity+conf.capacity) {
			t.Errorf("%s: overview %+v, want 3 events (1 cancelled), %d seats sold, capacity %d", label, ov, wantSold, rock.capacity+conf.capacity)
		}
		if want := domain.Rate(int64(rock.sold+conf.sold), int64(rock.capacity+conf.capacity)); ov.CapacityUtilisation != want {
			t.Errorf("%s: utilisation %v, want %v", label, ov.CapacityUtilisation, want)
		}
		if want := domain.Rate(eur.Cancellations+usd.Cancellations, eur.Bookings+usd.Bookings); ov.CancellationRate != want {
			t.Errorf("%s: cancellation rate %v, want %v", label, ov.CancellationRate, want)
		}
		// 7 bookings' holds + expired + released + live.
		if ov.Holds.Created != 10 || ov.Holds.Converted != 7 || ov.Holds.Expired != 1 || ov.Holds.Released != 1 {
			t.Errorf("%s: holds %+v", label, ov.Holds)
		}
		if ov.Waitlist.Length != 1 || ov.Waitlist.OffersMade != 1 || ov.Waitlist.OffersConverted != 1 {
			t.Errorf("%s: waitlist %+v", label, ov.Waitlist)
		}

		for _, ev := range []*scriptEvent{rock, conf, gala} {
			var ej eventJSON
			sys.admin("/api/v1/admin/events/"+ev.id+"/analytics", &ej)
			if len(ej.Revenue) != 1 {
				t.Fatalf("%s: %s revenue %+v", label, ev.name, ej.Revenue)
			}
			sameMoney(t, label+" "+ev.name, ej.Revenue[0], *s.byEvent[ev.id+"|"+ev.currency])
			if ej.Name != ev.name || ej.Category != ev.category || ej.SeatsSold != int64(ev.sold) ||
				ej.LedgerSeatsSold != int64(ev.sold) || ej.Capacity != int64(ev.capacity) {
				t.Errorf("%s: %s report %+v", label, ev.name, ej.overviewJSON)
			}
			if (ej.Status == "CANCELLED") != ev.cancelled {
				t.Errorf("%s: %s status %s", label, ev.name, ej.Status)
			}
			var secSold, secGross int64
			for _, sec := range ej.Sections {
				if sec.SeatsSold != sec.LedgerSeatsSold || sec.SeatsSold != int64(ev.sectionSold[sec.SectionID]) ||
					sec.Capacity != int64(ev.sections[sec.SectionID]) {
					t.Errorf("%s: %s section %+v, want sold %d", label, ev.name, sec, ev.sectionSold[sec.SectionID])
				}
				secSold += sec.SeatsSold
				secGross += sec.GrossRevenue
			}
			if secGross != s.byEvent[ev.id+"|"+ev.currency].Gross {
				t.Errorf("%s: %s sections gross %d", label, ev.name, secGross)
			}
			var daily, hourly domain.Sales
			for _, p := range ej.SalesOverTime.Daily {
				daily = daily.Add(domain.Sales{Bookings: p.Bookings, Cancellations: p.Cancellations, Gross: p.Gross, Refunds: p.Refunds})
			}
			for _, p := range ej.SalesOverTime.Hourly {
				hourly = hourly.Add(domain.Sales{Bookings: p.Bookings, Cancellations: p.Cancellations, Gross: p.Gross, Refunds: p.Refunds})
			}
			want := *s.byEvent[ev.id+"|"+ev.currency]
			if daily.Gross != want.Gross || daily.Refunds != want.Refunds || hourly.Gross != want.Gross || hourly.Bookings != want.Bookings {
				t.Errorf("%s: %s series daily %+v hourly %+v, want %+v", label, ev.name, daily, hourly, want)
			}
		}

		// Two ranges: partial months only (daily rows) and whole months (monthly rollups).
		from, to := domain.Day(h(80), berlin).Format(domain.DateLayout), domain.Day(now, berlin).Format(domain.DateLayout)
		wholeFrom := domain.MonthStart(domain.Day(h(80), berlin)).Format(domain.DateLayout)
		wholeTo := domain.MonthStart(domain.Day(now, berlin)).AddDate(0, 1, -1).Format(domain.DateLayout)
		out := map[string]json.RawMessage{}
		for _, g := range []string{"day", "week", "month", "event", "category", "event-whole", "category-whole"} {
			var rv revenueJSON
			path := "/api/v1/admin/analytics/revenue?from=" + from + "&to=" + to + "&group_by=" + g
			if cut := strings.TrimSuffix(g, "-whole"); cut != g {
				path = "/api/v1/admin/analytics/revenue?from=" + wholeFrom + "&to=" + wholeTo + "&group_by=" + cut
				g = cut
			}
			out["revenue-"+path] = sys.admin(path, &rv)
			tot := byCurrency(rv.Totals)
			sameMoney(t, label+" revenue totals EUR by "+g, tot["EUR"], eur)
			sameMoney(t, label+" revenue totals USD by "+g, tot["USD"], usd)
			sum := map[string]domain.Sales{}
			for _, it := range rv.Items {
				sum[it.Currency] = sum[it.Currency].Add(domain.Sales{Bookings: it.Bookings, Cancellations: it.Cancellations,
					SeatsBooked: it.SeatsSold + it.SeatsCancelled, SeatsCancelled: it.SeatsCancelled, Gross: it.Gross, Refunds: it.Refunds})
				var want map[string]*domain.Sales
				switch g {
				case "day":
					want = s.byDay
				case "event":
					want = s.byEvent
				case "category":
					want = s.byCat
				}
				if want != nil {
					if x := want[it.Group+"|"+it.Currency]; x == nil {
						t.Errorf("%s: unexpected %s row %+v", label, g, it)
					} else {
						sameMoney(t, label+" "+g+" "+it.Group, it.moneyJSON, *x)
					}
				}
			}
			for _, c := range []string{"EUR", "USD"} {
				x := sum[c]
				x.Currency = c
				sameMoney(t, label+" sum of rows by "+g+" "+c, moneyJSON{Currency: c, Bookings: x.Bookings, Cancellations: x.Cancellations,
					SeatsSold: x.SeatsSold(), SeatsCancelled: x.SeatsCancelled, Gross: x.Gross, Refunds: x.Refunds, Net: x.Net()}, s.expected(c))
			}
		}
		for _, g := range []string{"day", "event", "category"} {
			var rv revenueJSON
			sys.admin("/api/v1/admin/analytics/revenue?currency=eur&from="+wholeFrom+"&to="+wholeTo+"&group_by="+g, &rv)
			var gross int64
			for _, it := range rv.Items {
				if it.Currency != "EUR" {
					t.Errorf("%s: currency filter let %+v through", label, it)
				}
				gross += it.Gross
			}
			if len(rv.Totals) != 1 || rv.Totals[0].Currency != "EUR" || gross != eur.Gross {
				t.Errorf("%s: EUR-only revenue by %s: rows gross %d, totals %+v, want %d", label, g, gross, rv.Totals, eur.Gross)
			}
		}
		for _, by := range []string{"seats_sold", "revenue", "fill_rate", "waitlist"} {
			out["popular-"+by] = sys.admin("/api/v1/admin/analytics/popular-events?by="+by, nil)
		}
		for _, ev := range []*scriptEvent{rock, conf, gala} {
			out["event-"+ev.name] = sys.admin("/api/v1/admin/events/"+ev.id+"/analytics", nil)
		}
		out["overview"] = sys.admin("/api/v1/admin/events/analytics", nil)
		var live struct {
			ActiveHolds struct{ Holds, Seats int64 } `json:"active_holds"`
			Waitlist    json.RawMessage              `json:"waitlist"`
			Windows     []struct {
				Minutes  int   `json:"minutes"`
				Bookings int64 `json:"bookings"`
			} `json:"windows"`
		}
		sys.admin("/api/v1/admin/analytics/live", &live)
		if live.ActiveHolds.Holds != 1 || live.ActiveHolds.Seats != 2 {
			t.Errorf("%s: active holds %+v, want 1 hold of 2 seats", label, live.ActiveHolds)
		}
		if n := len(live.Windows); n != 3 || live.Windows[2].Minutes != 15 || live.Windows[2].Bookings != 2 {
			t.Errorf("%s: live windows %+v, want 2 bookings in the last 15 minutes", label, live.Windows)
		}
		out["live-waitlist"] = live.Waitlist
		return out
	}
	first := check("live")

	// The popular ranking by seats sold puts the conference (1 seat) after Rock Night (2).
	var pop struct {
		Items []struct {
			Rank      int    `json:"rank"`
			EventID   string `json:"event_id"`
			SeatsSold int64  `json:"seats_sold"`
		} `json:"items"`
	}
	if err := json.Unmarshal(first["popular-seats_sold"], &pop); err != nil || len(pop.Items) != 3 || pop.Items[0].EventID != rock.id {
		t.Errorf("popular by seats: %s", first["popular-seats_sold"])
	}

	// Redelivery: the same CloudEvents again (same ce_id) change nothing, and neither does
	// the same booking fact re-published under a new id.
	var dupes []int
	for i, m := range s.msgs {
		if m.Type == contracts.TypeBookingConfirmed || m.Type == contracts.TypeBookingCancelled ||
			m.Type == contracts.TypeHoldCreated || m.Type == contracts.TypeWaitlistJoined {
			dupes = append(dupes, i)
		}
	}
	for _, i := range dupes {
		send(t, prod, cfg, s.msgs[i])
	}
	again := s.msgs[dupes[0]]
	again.ID = newID()
	send(t, prod, cfg, again)
	sys.waitApplied(1)
	afterDupes := check("after duplicates")
	sameSnapshots(t, "after duplicates", first, afterDupes)

	// Rebuild from the beginning into generation 2 and switch.
	rb := &app.RebuildReadModels{Generations: sys.store, Replayer: sys.replayer(), Log: sys.log, Timezone: "Europe/Berlin",
		Timeout: 2 * time.Minute, Poll: 100 * time.Millisecond, Grace: time.Second}
	gen, err := rb.Run(ctx)
	if err != nil || gen != 2 {
		t.Fatalf("rebuild: generation %d, %v", gen, err)
	}
	rebuilt := check("after rebuild")
	sameSnapshots(t, "after rebuild", first, rebuilt)
	var old int
	if err := sys.db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE gen = 1`).Scan(&old); err != nil || old != 0 {
		t.Errorf("generation 1 rows left after the switch: %d (%v)", old, err)
	}

	// The follower moved to generation 2's group and keeps applying new facts once.
	late := newScript(t, berlin)
	late.events, late.bookings = s.events, s.bookings
	late.book(conf, time.Now().UTC(), seat{hall, 12000})
	send(t, prod, cfg, late.msgs...)
	testkit.Eventually(t, 60*time.Second, func() bool {
		var ov overviewJSON
		sys.admin("/api/v1/admin/events/analytics", &ov)
		return byCurrency(ov.Revenue)["USD"].Bookings == usd.Bookings+1
	}, "a booking after the rebuild is counted by generation 2")
	sys.waitApplied(2)
	var ov2 overviewJSON
	sys.admin("/api/v1/admin/events/analytics", &ov2)
	want := usd.Add(domain.Sales{Bookings: 1, SeatsBooked: 1, Gross: 12000})
	sameMoney(t, "after rebuild and a new sale", byCurrency(ov2.Revenue)["USD"], want)
}

func sameSnapshots(t *testing.T, label string, a, b map[string]json.RawMessage) {
	t.Helper()
	for k, v := range a {
		if !bytes.Equal(normalise(v), normalise(b[k])) {
			t.Errorf("%s: %s differs:\n before %s\n after  %s", label, k, v, b[k])
		}
	}
}

// normalise drops fields that legitimately move between two reads (the live clock).
func normalise(raw json.RawMessage) []byte {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	if m, ok := v.(map[string]any); ok {
		delete(m, "generated_at")
	}
	out, _ := json.Marshal(v)
	return out
}

func rockSections(s *script, ev *scriptEvent) (stalls, balcony string) {
	for id, c := range ev.sections {
		if c == 100 {
			stalls = id
		} else {
			balcony = id
		}
	}
	return stalls, balcony
}

// TestIntegrationReportsOnEmptyDataAnswerZeros checks that every endpoint answers 200
// with zeros (never NaN, null rates or an error) before any fact arrived.
func TestIntegrationReportsOnEmptyDataAnswerZeros(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, "UTC")
	for _, path := range []string{"/api/v1/admin/events/analytics", "/api/v1/admin/analytics/revenue",
		"/api/v1/admin/analytics/revenue?group_by=category", "/api/v1/admin/analytics/popular-events?by=fill_rate",
		"/api/v1/admin/analytics/live"} {
		body := sys.admin(path, nil)
		if bytes.Contains(body, []byte("NaN")) || bytes.Contains(body, []byte("null")) {
			t.Errorf("%s: %s", path, body)
		}
	}
	var ov overviewJSON
	sys.admin("/api/v1/admin/events/analytics", &ov)
	if ov.Events != 0 || ov.CapacityUtilisation != 0 || ov.CancellationRate != 0 || len(ov.Revenue) != 0 || ov.Timezone != "UTC" {
		t.Errorf("empty overview %+v", ov)
	}
}

// TestIntegrationBadParametersAre4xxProblems checks refused queries and access rules.
func TestIntegrationBadParametersAre4xxProblems(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, "UTC")
	tests := []struct {
		path, role string
		status     int
		field      string
	}{
		{"/api/v1/admin/analytics/revenue?from=2026-02-01&to=2026-01-01", assertion.RoleAdmin, 400, "from"},
		{"/api/v1/admin/analytics/revenue?group_by=year", assertion.RoleAdmin, 400, "group_by"},
		{"/api/v1/admin/analytics/revenue?from=2020-01-01&to=2026-01-01", assertion.RoleAdmin, 400, "to"},
		{"/api/v1/admin/analytics/revenue?from=" + url.QueryEscape("not a date"), assertion.RoleAdmin, 400, "from"},
		{"/api/v1/admin/analytics/revenue?limit=1000", assertion.RoleAdmin, 400, "limit"},
		{"/api/v1/admin/analytics/revenue?currency=EURO", assertion.RoleAdmin, 400, "currency"},
		{"/api/v1/admin/analytics/popular-events?limit=101", assertion.RoleAdmin, 400, "limit"},
		{"/api/v1/admin/analytics/popular-events?limit=0", assertion.RoleAdmin, 400, "limit"},
		{"/api/v1/admin/analytics/popular-events?limit=ten", assertion.RoleAdmin, 400, "limit"},
		{"/api/v1/admin/analytics/popular-events?by=views", assertion.RoleAdmin, 400, "by"},
		{"/api/v1/admin/events/not-a-uuid/analytics", assertion.RoleAdmin, 400, "id"},
		{"/api/v1/admin/events/" + newID() + "/analytics", assertion.RoleAdmin, 404, ""},
		{"/api/v1/admin/events/analytics", assertion.RoleUser, 403, ""},
		{"/api/v1/admin/analytics/live", "", 401, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.path), func(t *testing.T) {
			status, ct, body := sys.get(tt.path, tt.role)
			if status != tt.status || !strings.HasPrefix(ct, "application/problem+json") {
				t.Fatalf("got %d %s: %s", status, ct, body)
			}
			var p struct {
				Status int `json:"status"`
				Errors []struct {
					Field string `json:"field"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(body, &p); err != nil || p.Status != tt.status {
				t.Fatalf("problem body %s", body)
			}
			if tt.field == "" {
				return
			}
			for _, e := range p.Errors {
				if e.Field == tt.field {
					return
				}
			}
			t.Fatalf("no error on %s: %s", tt.field, body)
		})
	}
	if status, _, body := sys.get("/api/v1/admin/analytics/popular-events?limit=100", assertion.RoleAdmin); status != http.StatusOK {
		t.Fatalf("limit 100 refused: %d %s", status, body)
	}
}
