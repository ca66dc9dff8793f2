package http

import (
	"time"

	"evently.dev/services/analytics/internal/domain"
)

// moneyDTO is one currency's sales; amounts are integer minor units.
type moneyDTO struct {
	Currency         string  `json:"currency"`
	Bookings         int64   `json:"bookings"`
	Cancellations    int64   `json:"cancellations"`
	SeatsSold        int64   `json:"seats_sold"`
	SeatsCancelled   int64   `json:"seats_cancelled"`
	Gross            int64   `json:"gross_revenue"`
	Refunds          int64   `json:"refunds"`
	Net              int64   `json:"net_revenue"`
	CancellationRate float64 `json:"cancellation_rate"`
}

func money(list []domain.Sales) []moneyDTO {
	out := make([]moneyDTO, 0, len(list))
	for _, s := range list {
		out = append(out, moneyOf(s))
	}
	return out
}

func moneyOf(s domain.Sales) moneyDTO {
	return moneyDTO{Currency: s.Currency, Bookings: s.Bookings, Cancellations: s.Cancellations,
		SeatsSold: s.SeatsSold(), SeatsCancelled: s.SeatsCancelled, Gross: s.Gross, Refunds: s.Refunds,
		Net: s.Net(), CancellationRate: s.CancellationRate()}
}

type holdsDTO struct {
	Created        int64   `json:"created"`
	Converted      int64   `json:"converted"`
	Expired        int64   `json:"expired"`
	Released       int64   `json:"released"`
	ConversionRate float64 `json:"conversion_rate"`
}

func holdsOf(h domain.Holds) holdsDTO {
	return holdsDTO{Created: h.Created, Converted: h.Converted, Expired: h.Expired, Released: h.Released,
		ConversionRate: h.ConversionRate()}
}

type waitlistDTO struct {
	Length          int64   `json:"length"`
	Joined          int64   `json:"joined"`
	Left            int64   `json:"left"`
	OffersMade      int64   `json:"offers_made"`
	OffersConverted int64   `json:"offers_converted"`
	OffersExpired   int64   `json:"offers_expired"`
	ConversionRate  float64 `json:"conversion_rate"`
}

func waitlistOf(w domain.Waitlist) waitlistDTO {
	return waitlistDTO{Length: w.Length, Joined: w.Joined, Left: w.Left, OffersMade: w.Offers,
		OffersConverted: w.Converted, OffersExpired: w.OffersExpired, ConversionRate: w.ConversionRate()}
}

// salesCounts are the booking counts every report carries, over all currencies.
type salesCounts struct {
	Bookings         int64   `json:"bookings"`
	Cancellations    int64   `json:"cancellations"`
	ActiveBookings   int64   `json:"active_bookings"`
	SeatsSold        int64   `json:"seats_sold"`
	SeatsCancelled   int64   `json:"seats_cancelled"`
	CancellationRate float64 `json:"cancellation_rate"`
}

func countsOf(list []domain.Sales, seatsSold int64) salesCounts {
	c := domain.CountsOnly(list)
	return salesCounts{Bookings: c.Bookings, Cancellations: c.Cancellations, ActiveBookings: c.Bookings - c.Cancellations,
		SeatsSold: seatsSold, SeatsCancelled: c.SeatsCancelled, CancellationRate: c.CancellationRate()}
}

// overviewDTO is GET /admin/events/analytics.
type overviewDTO struct {
	Timezone        string `json:"timezone"`
	Events          int64  `json:"events"`
	CancelledEvents int64  `json:"cancelled_events"`
	salesCounts
	LedgerSeatsSold     int64       `json:"ledger_seats_sold"`
	Capacity            int64       `json:"capacity"`
	CapacityUtilisation float64     `json:"capacity_utilisation"`
	Revenue             []moneyDTO  `json:"revenue"`
	Holds               holdsDTO    `json:"holds"`
	Waitlist            waitlistDTO `json:"waitlist"`
}

func overviewOf(o domain.Overview, tz string) overviewDTO {
	return overviewDTO{Timezone: tz, Events: o.Events, CancelledEvents: o.CancelledEvents,
		salesCounts: countsOf(o.Sales, o.SeatsSold), LedgerSeatsSold: o.LedgerSold, Capacity: o.Capacity,
		CapacityUtilisation: domain.Rate(o.ActiveSeatsSold, o.Capacity), Revenue: money(o.Sales),
		Holds: holdsOf(o.Holds), Waitlist: waitlistOf(o.Waitlist)}
}

type sectionDTO struct {
	SectionID           string  `json:"section_id"`
	Name                string  `json:"name"`
	Capacity            int64   `json:"capacity"`
	SeatsSold           int64   `json:"seats_sold"`
	SeatsCancelled      int64   `json:"seats_cancelled"`
	LedgerSeatsSold     int64   `json:"ledger_seats_sold"`
	CapacityUtilisation float64 `json:"capacity_utilisation"`
	Currency            string  `json:"currency"`
	GrossRevenue        int64   `json:"gross_revenue"`
	Revenue             int64   `json:"revenue"`
}

type pointDTO struct {
	Start          time.Time `json:"start"`
	Currency       string    `json:"currency"`
	Bookings       int64     `json:"bookings"`
	Cancellations  int64     `json:"cancellations"`
	SeatsSold      int64     `json:"seats_sold"`
	SeatsCancelled int64     `json:"seats_cancelled"`
	Gross          int64     `json:"gross_revenue"`
	Refunds        int64     `json:"refunds"`
	Net            int64     `json:"net_revenue"`
}

type dayPointDTO struct {
	Day string `json:"day"`
	pointDTO
}

func pointOf(p domain.Point) pointDTO {
	// In a series, seats_sold is seats sold in that bucket (not net of later cancellations).
	return pointDTO{Start: p.Start, Currency: p.Currency, Bookings: p.Bookings, Cancellations: p.Cancellations,
		SeatsSold: p.SeatsBooked, SeatsCancelled: p.SeatsCancelled, Gross: p.Gross, Refunds: p.Refunds, Net: p.Net()}
}

type seriesDTO struct {
	Hourly []pointDTO    `json:"hourly"`
	Daily  []dayPointDTO `json:"daily"`
}

// eventDTO is one event's identity and headline numbers.
type eventDTO struct {
	EventID  string     `json:"event_id"`
	Name     string     `json:"name"`
	Category string     `json:"category"`
	Status   string     `json:"status"`
	Currency string     `json:"currency"`
	StartsAt *time.Time `json:"starts_at"`
	salesCounts
	LedgerSeatsSold     int64       `json:"ledger_seats_sold"`
	Capacity            int64       `json:"capacity"`
	CapacityUtilisation float64     `json:"capacity_utilisation"`
	Revenue             []moneyDTO  `json:"revenue"`
	Holds               holdsDTO    `json:"holds"`
	Waitlist            waitlistDTO `json:"waitlist"`
}

func eventOf(e domain.Event, sales []domain.Sales) eventDTO {
	return eventDTO{EventID: e.ID, Name: e.Name, Category: e.Category, Status: e.Status, Currency: e.Currency,
		StartsAt: e.StartsAt, salesCounts: countsOf(sales, e.SeatsSold), LedgerSeatsSold: e.LedgerSold,
		Capacity: e.Capacity, CapacityUtilisation: e.FillRate(), Revenue: money(sales), Holds: holdsOf(e.Holds),
		Waitlist: waitlistOf(e.Waitlist)}
}

// eventReportDTO is GET /admin/events/{id}/analytics.
type eventReportDTO struct {
	Timezone string `json:"timezone"`
	eventDTO
	Sections      []sectionDTO `json:"sections"`
	SalesOverTime seriesDTO    `json:"sales_over_time"`
}

func eventReportOf(r domain.EventReport, tz string) eventReportDTO {
	out := eventReportDTO{Timezone: tz, eventDTO: eventOf(r.Event, r.Sales), Sections: []sectionDTO{},
		SalesOverTime: seriesDTO{Hourly: []pointDTO{}, Daily: []dayPointDTO{}}}
	for _, s := range r.Sections {
		out.Sections = append(out.Sections, sectionDTO{SectionID: s.SectionID, Name: s.Name, Capacity: s.Capacity,
			SeatsSold: s.SeatsSold(), SeatsCancelled: s.SeatsCancelled, LedgerSeatsSold: s.LedgerSold,
			CapacityUtilisation: domain.Rate(s.SeatsSold(), s.Capacity), Currency: s.Currency,
			GrossRevenue: s.Gross, Revenue: s.Revenue()})
	}
	for _, p := range r.Hourly {
		out.SalesOverTime.Hourly = append(out.SalesOverTime.Hourly, pointOf(p))
	}
	for _, p := range r.Daily {
		out.SalesOverTime.Daily = append(out.SalesOverTime.Daily, dayPointDTO{Day: p.Start.Format(domain.DateLayout), pointDTO: pointOf(p)})
	}
	return out
}

type revenueRowDTO struct {
	Group    string `json:"group"`
	EventID  string `json:"event_id,omitempty"`
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"`
	moneyDTO
}

type pageDTO struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	Total  int `json:"total"`
}

// revenueDTO is GET /admin/analytics/revenue.
type revenueDTO struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	GroupBy  string          `json:"group_by"`
	Timezone string          `json:"timezone"`
	Currency string          `json:"currency,omitempty"`
	Items    []revenueRowDTO `json:"items"`
	Page     pageDTO         `json:"page"`
	Totals   []moneyDTO      `json:"totals"`
}

func revenueOf(r domain.RevenueReport, q domain.RevenueQuery, tz string, limit, offset int) revenueDTO {
	out := revenueDTO{From: q.From.Format(domain.DateLayout), To: q.To.Format(domain.DateLayout), GroupBy: string(q.GroupBy),
		Timezone: tz, Currency: q.Currency, Items: []revenueRowDTO{}, Page: pageDTO{limit, offset, r.Total},
		Totals: money(r.Totals)}
	for _, row := range r.Rows {
		d := revenueRowDTO{Group: row.Key, moneyDTO: moneyOf(row.Sales)}
		switch q.GroupBy {
		case domain.GroupByEvent:
			d.EventID, d.Name, d.Category = row.Key, row.Name, row.Category
		case domain.GroupByCategory:
			d.Category = row.Category
		}
		out.Items = append(out.Items, d)
	}
	return out
}

type popularItemDTO struct {
	Rank int `json:"rank"`
	eventDTO
	FillRate float64 `json:"fill_rate"`
}

// popularDTO is GET /admin/analytics/popular-events.
type popularDTO struct {
	By       string           `json:"by"`
	Currency string           `json:"currency,omitempty"`
	Limit    int              `json:"limit"`
	Items    []popularItemDTO `json:"items"`
}

type windowDTO struct {
	Minutes        int   `json:"minutes"`
	Bookings       int64 `json:"bookings"`
	Cancellations  int64 `json:"cancellations"`
	SeatsSold      int64 `json:"seats_sold"`
	SeatsCancelled int64 `json:"seats_cancelled"`
	HoldsCreated   int64 `json:"holds_created"`
}

type minuteDTO struct {
	Minute         time.Time `json:"minute"`
	Bookings       int64     `json:"bookings"`
	Cancellations  int64     `json:"cancellations"`
	SeatsSold      int64     `json:"seats_sold"`
	SeatsCancelled int64     `json:"seats_cancelled"`
	HoldsCreated   int64     `json:"holds_created"`
}

type waitlistSizeDTO struct {
	EventID string `json:"event_id"`
	Name    string `json:"name"`
	Length  int64  `json:"length"`
}

// liveDTO is GET /admin/analytics/live.
type liveDTO struct {
	GeneratedAt time.Time `json:"generated_at"`
	ActiveHolds struct {
		Holds int64 `json:"holds"`
		Seats int64 `json:"seats"`
	} `json:"active_holds"`
	Waitlist struct {
		Total  int64             `json:"total"`
		Events []waitlistSizeDTO `json:"events"`
	} `json:"waitlist"`
	Windows   []windowDTO `json:"windows"`
	PerMinute []minuteDTO `json:"per_minute"`
}

func liveOf(l domain.Live) liveDTO {
	var out liveDTO
	out.GeneratedAt = l.Now
	out.ActiveHolds.Holds, out.ActiveHolds.Seats = l.ActiveHolds, l.ActiveHeldSeats
	out.Waitlist.Total, out.Waitlist.Events = l.WaitlistTotal, []waitlistSizeDTO{}
	for _, w := range l.Waitlists {
		out.Waitlist.Events = append(out.Waitlist.Events, waitlistSizeDTO(w))
	}
	for _, n := range domain.LiveWindows {
		m := domain.Window(l.Minutes, l.Now, n)
		out.Windows = append(out.Windows, windowDTO{Minutes: n, Bookings: m.Bookings, Cancellations: m.Cancellations,
			SeatsSold: m.SeatsBooked, SeatsCancelled: m.SeatsCancelled, HoldsCreated: m.HoldsCreated})
	}
	out.PerMinute = []minuteDTO{}
	for _, m := range l.Minutes {
		out.PerMinute = append(out.PerMinute, minuteDTO{Minute: m.Start, Bookings: m.Bookings,
			Cancellations: m.Cancellations, SeatsSold: m.SeatsBooked, SeatsCancelled: m.SeatsCancelled,
			HoldsCreated: m.HoldsCreated})
	}
	return out
}
