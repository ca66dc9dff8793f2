package events_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/analytics/internal/domain"
)

// script builds a realistic stream of facts as real CloudEvents and, beside it, the sums
// any correct analytics must report for them.
type script struct {
	t    *testing.T
	loc  *time.Location
	msgs []kafka.Event

	events   map[string]*scriptEvent
	bookings map[string]*scriptBooking

	// expected sums
	total   map[string]*domain.Sales // by currency
	byDay   map[string]*domain.Sales // "day|currency"
	byEvent map[string]*domain.Sales // "event|currency"
	byCat   map[string]*domain.Sales // "category|currency"
}

type scriptEvent struct {
	id, name, category, currency string
	capacity, sold               int
	sections                     map[string]int // section id → capacity
	sectionSold                  map[string]int
	cancelled                    bool
}

type scriptBooking struct {
	id, eventID, currency string
	seats                 []contracts.BookedSeat
	total                 int64
	cancelled             bool
}

func newScript(t *testing.T, loc *time.Location) *script {
	return &script{t: t, loc: loc, events: map[string]*scriptEvent{}, bookings: map[string]*scriptBooking{},
		total: map[string]*domain.Sales{}, byDay: map[string]*domain.Sales{}, byEvent: map[string]*domain.Sales{},
		byCat: map[string]*domain.Sales{}}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func (s *script) emit(topic, key, typ string, at time.Time, payload any) kafka.Event {
	s.t.Helper()
	e, err := kafka.NewEvent(topic, key, typ, "/tests/analytics", payload)
	if err != nil {
		s.t.Fatal(err)
	}
	e.Time = at.UTC()
	s.msgs = append(s.msgs, e)
	return e
}

func (s *script) add(m map[string]*domain.Sales, key, currency string, d domain.Sales) {
	k := key + "|" + currency
	if m[k] == nil {
		m[k] = &domain.Sales{Currency: currency}
	}
	*m[k] = m[k].Add(d)
}

func (s *script) count(ev *scriptEvent, at time.Time, d domain.Sales) {
	s.add(s.total, "", ev.currency, d)
	s.add(s.byDay, domain.Day(at, s.loc).Format(domain.DateLayout), ev.currency, d)
	s.add(s.byEvent, ev.id, ev.currency, d)
	s.add(s.byCat, ev.category, ev.currency, d)
}

// publish announces an event whose sections have the given capacities and prices.
func (s *script) publish(name, category, currency string, at time.Time, sections ...contracts.LayoutSection) *scriptEvent {
	ev := &scriptEvent{id: newID(), name: name, category: category, currency: currency,
		sections: map[string]int{}, sectionSold: map[string]int{}}
	for i := range sections {
		sections[i].SectionID = newID()
		ev.capacity += sections[i].Capacity
		ev.sections[sections[i].SectionID] = sections[i].Capacity
	}
	s.events[ev.id] = ev
	s.emit(contracts.TopicCatalogEvents, ev.id, contracts.TypeEventPublished, at, contracts.EventPublished{
		EventID: ev.id, Name: name, Category: category, Tags: []string{}, VenueTemplateID: newID(), VenueName: "Hall",
		StartsAt: at.Add(30 * 24 * time.Hour), EndsAt: at.Add(30*24*time.Hour + 3*time.Hour), Currency: currency,
		HoldLimitPerUser: 8, Sections: sections, PublishedAt: at, Version: 1})
	return ev
}

func (s *script) sectionIDs(ev *scriptEvent) []string {
	ids := make([]string, 0, len(ev.sections))
	for id := range ev.sections {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// hold creates a hold of n seats and returns its id.
func (s *script) hold(ev *scriptEvent, n int, at, expires time.Time) string {
	id := newID()
	seats := make([]string, n)
	for i := range seats {
		seats[i] = fmt.Sprintf("X-R1-S%d", i+1)
	}
	s.emit(contracts.TopicInventorySeats, ev.id, contracts.TypeHoldCreated, at, contracts.HoldCreated{HoldID: id,
		EventID: ev.id, UserID: newID(), SeatIDs: seats, Currency: ev.currency, Purpose: contracts.HoldPurposeUser,
		CreatedAt: at, ExpiresAt: expires})
	return id
}

// seat is one seat to book: its section and price.
type seat struct {
	section string
	price   int64
}

// book holds, sells (ledger) and confirms (booking) the seats at time at.
func (s *script) book(ev *scriptEvent, at time.Time, seats ...seat) *scriptBooking {
	holdID := s.hold(ev, len(seats), at.Add(-time.Minute), at.Add(9*time.Minute))
	b := &scriptBooking{id: newID(), eventID: ev.id, currency: ev.currency}
	var sold []contracts.SoldSeat
	for i, st := range seats {
		sid := fmt.Sprintf("%s-R1-S%d", st.section[:4], len(s.bookings)*10+i)
		b.seats = append(b.seats, contracts.BookedSeat{SeatID: sid, SectionID: st.section, Label: sid, Price: st.price})
		sold = append(sold, contracts.SoldSeat{SeatID: sid, SectionID: st.section, Price: st.price})
		b.total += st.price
		ev.sold++
		ev.sectionSold[st.section]++
	}
	s.bookings[b.id] = b
	s.emit(contracts.TopicInventorySeats, ev.id, contracts.TypeSeatsSold, at, contracts.SeatsSold{EventID: ev.id,
		BookingID: b.id, HoldID: holdID, UserID: newID(), Seats: sold, TotalAmount: b.total, Currency: ev.currency,
		SoldAt: at, Sections: s.ledger(ev), Capacity: ev.capacity, SoldTotal: ev.sold})
	s.emit(contracts.TopicBookingBookings, ev.id, contracts.TypeBookingConfirmed, at, contracts.BookingConfirmed{
		BookingID: b.id, BookingRef: "EVT-" + b.id[:6], EventID: ev.id, UserID: newID(), HoldID: holdID, Seats: b.seats,
		TotalAmount: b.total, Currency: ev.currency, PaymentMethod: "simulated", ConfirmedAt: at})
	s.count(ev, at, domain.Sales{Bookings: 1, SeatsBooked: int64(len(seats)), Gross: b.total})
	return b
}

func (s *script) ledger(ev *scriptEvent) []contracts.SectionCount {
	var out []contracts.SectionCount
	for _, id := range s.sectionIDs(ev) {
		out = append(out, contracts.SectionCount{SectionID: id, Capacity: ev.sections[id], Sold: ev.sectionSold[id]})
	}
	return out
}

// cancel cancels a booking with the given refund and releases its seats.
func (s *script) cancel(b *scriptBooking, refund int64, reason string, at time.Time) {
	ev := s.events[b.eventID]
	b.cancelled = true
	ids := make([]string, len(b.seats))
	var back []contracts.SoldSeat
	for i, st := range b.seats {
		ids[i] = st.SeatID
		back = append(back, contracts.SoldSeat{SeatID: st.SeatID, SectionID: st.SectionID, Price: st.Price})
		ev.sold--
		ev.sectionSold[st.SectionID]--
	}
	s.emit(contracts.TopicBookingBookings, ev.id, contracts.TypeBookingCancelled, at, contracts.BookingCancelled{
		BookingID: b.id, BookingRef: "EVT-" + b.id[:6], EventID: ev.id, UserID: newID(), CancellationID: newID(),
		SeatIDs: ids, TotalAmount: b.total, RefundAmount: refund, CancellationFee: b.total - refund,
		Currency: b.currency, Reason: reason, PolicyVersion: 1, CancelledAt: at})
	s.emit(contracts.TopicInventorySeats, ev.id, contracts.TypeSeatsReleased, at, contracts.SeatsReleased{EventID: ev.id,
		BookingID: b.id, SeatIDs: ids, Seats: back, Reason: contracts.ReleaseBookingCancelled, ReleasedAt: at,
		Sections: s.ledger(ev), Capacity: ev.capacity, SoldTotal: ev.sold})
	s.count(ev, at, domain.Sales{Cancellations: 1, SeatsCancelled: int64(len(b.seats)), Refunds: refund})
}

// cancelEvent cancels the show and refunds every live booking in full.
func (s *script) cancelEvent(ev *scriptEvent, at time.Time) {
	ev.cancelled = true
	s.emit(contracts.TopicCatalogEvents, ev.id, contracts.TypeEventCancelled, at, contracts.EventCancelled{EventID: ev.id,
		Reason: "storm", CancelledAt: at})
	ids := make([]string, 0, len(s.bookings))
	for id := range s.bookings {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if b := s.bookings[id]; b.eventID == ev.id && !b.cancelled {
			s.cancel(b, b.total, contracts.CancelEventCancelled, at)
		}
	}
}

// expected returns the expected totals of one currency.
func (s *script) expected(currency string) domain.Sales {
	if x := s.total["|"+currency]; x != nil {
		return *x
	}
	return domain.Sales{Currency: currency}
}

// send produces msgs to the topics under cfg's prefix.
func send(t *testing.T, p sarama.SyncProducer, cfg kafka.Config, msgs ...kafka.Event) {
	t.Helper()
	for _, e := range msgs {
		e.Topic = cfg.Topic(e.Topic)
		if _, _, err := p.SendMessage(e.ProducerMessage()); err != nil {
			t.Fatalf("produce %s: %v", e.Type, err)
		}
	}
}
