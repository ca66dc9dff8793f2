package domain

import (
	"time"

	"evently.dev/libs/apperr"
)

// ErrEventNotFound is an event analytics has never heard of.
var ErrEventNotFound = apperr.New(apperr.KindNotFound, "event_not_found", "no analytics for this event")

// Sales are booking-side counts and money in one currency: gross at confirmation,
// refunds at cancellation. Money is in minor units and never mixed across currencies.
type Sales struct {
	Currency       string
	Bookings       int64
	Cancellations  int64
	SeatsBooked    int64
	SeatsCancelled int64
	Gross          int64
	Refunds        int64
}

// Net is revenue kept: gross minus refunds.
func (s Sales) Net() int64 { return s.Gross - s.Refunds }

// SeatsSold is seats still sold: booked minus those of cancelled bookings.
func (s Sales) SeatsSold() int64 { return s.SeatsBooked - s.SeatsCancelled }

// CancellationRate is cancelled bookings per confirmed booking.
func (s Sales) CancellationRate() float64 { return Rate(s.Cancellations, s.Bookings) }

// Add returns the sum of two Sales of the same currency.
func (s Sales) Add(o Sales) Sales {
	s.Bookings += o.Bookings
	s.Cancellations += o.Cancellations
	s.SeatsBooked += o.SeatsBooked
	s.SeatsCancelled += o.SeatsCancelled
	s.Gross += o.Gross
	s.Refunds += o.Refunds
	return s
}

// CountsOnly returns the count part of a list of per-currency Sales (counts, unlike
// money, may be added across currencies).
func CountsOnly(list []Sales) Sales {
	var c Sales
	for _, s := range list {
		c = c.Add(s)
	}
	c.Currency, c.Gross, c.Refunds = "", 0, 0
	return c
}

// Holds are an event's (or all events') temporary seat claims.
type Holds struct {
	Created, Converted, Expired, Released int64
}

// ConversionRate is holds that became sales per hold made.
func (h Holds) ConversionRate() float64 { return Rate(h.Converted, h.Created) }

// Waitlist is an event's (or all events') queue and its offers.
type Waitlist struct {
	Length                                         int64
	Joined, Left, Offers, Converted, OffersExpired int64
}

// ConversionRate is offers that became bookings per offer made.
func (w Waitlist) ConversionRate() float64 { return Rate(w.Converted, w.Offers) }

// Event is one show as analytics knows it.
type Event struct {
	ID          string
	Name        string
	Category    string
	Status      string
	Currency    string
	StartsAt    *time.Time
	Capacity    int64
	SeatsSold   int64
	LedgerSold  int64
	PublishedAt *time.Time
	CancelledAt *time.Time
	Holds       Holds
	Waitlist    Waitlist
}

// FillRate is seats sold per seat of capacity.
func (e Event) FillRate() float64 { return Rate(e.SeatsSold, e.Capacity) }

// Overview is the totals over all events.
type Overview struct {
	Events          int64
	CancelledEvents int64
	// Capacity and ActiveSeatsSold cover events that are not cancelled, for utilisation.
	Capacity        int64
	ActiveSeatsSold int64
	SeatsSold       int64
	LedgerSold      int64
	Sales           []Sales
	Holds           Holds
	Waitlist        Waitlist
}

// Section is one section of an event: capacity and ledger count from inventory, seats
// and money from bookings.
type Section struct {
	SectionID      string
	Name           string
	Capacity       int64
	LedgerSold     int64
	Currency       string
	SeatsBooked    int64
	SeatsCancelled int64
	Gross          int64
	CancelledValue int64
}

// SeatsSold is seats of the section still sold.
func (s Section) SeatsSold() int64 { return s.SeatsBooked - s.SeatsCancelled }

// Revenue is the face value of the section's seats still sold.
func (s Section) Revenue() int64 { return s.Gross - s.CancelledValue }

// Point is one bucket of a sales series.
type Point struct {
	Start time.Time
	Sales
}

// EventReport is one event's analytics.
type EventReport struct {
	Event    Event
	Sales    []Sales
	Sections []Section
	Hourly   []Point
	Daily    []Point
}

// RevenueRow is one group of a revenue report in one currency.
type RevenueRow struct {
	// Key is the group: a date for day/week/month, an event id, or a category.
	Key      string
	Name     string
	Category string
	Sales
}

// RevenueReport is a page of revenue rows plus the totals of the whole range.
type RevenueReport struct {
	Rows   []RevenueRow
	Total  int
	Totals []Sales
}

// PopularEvent is one ranked event.
type PopularEvent struct {
	Event
	Sales []Sales
}

// Minute is system-wide activity in one UTC minute.
type Minute struct {
	Start          time.Time
	Bookings       int64
	Cancellations  int64
	SeatsBooked    int64
	SeatsCancelled int64
	HoldsCreated   int64
}

// WaitlistSize is one event's current queue length.
type WaitlistSize struct {
	EventID string
	Name    string
	Length  int64
}

// Live is the live monitoring view.
type Live struct {
	Now             time.Time
	ActiveHolds     int64
	ActiveHeldSeats int64
	WaitlistTotal   int64
	Waitlists       []WaitlistSize
	Minutes         []Minute
}

// LiveWindows are the minutes the live view sums over.
var LiveWindows = []int{1, 5, 15}

// Window sums the minutes in the last n minutes before now: the current (partial) minute
// and the n-1 before it. Buckets in the future (a producer clock ahead) are ignored.
func Window(minutes []Minute, now time.Time, n int) Minute {
	cur := MinuteStart(now)
	from := cur.Add(-time.Duration(n-1) * time.Minute)
	sum := Minute{Start: from}
	for _, m := range minutes {
		if m.Start.Before(from) || m.Start.After(cur) {
			continue
		}
		sum.Bookings += m.Bookings
		sum.Cancellations += m.Cancellations
		sum.SeatsBooked += m.SeatsBooked
		sum.SeatsCancelled += m.SeatsCancelled
		sum.HoldsCreated += m.HoldsCreated
	}
	return sum
}
