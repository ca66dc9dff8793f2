package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"

	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/mail"
)

// The reactions below run inside a consumer's transaction (r is bound to it, with the
// inbox row): they only write rows, never call other services, so each fact is applied
// exactly once. Work that needs inventory is requested as a round for the worker.

// UserRegistered keeps the user's address for emails.
func (s *Service) UserRegistered(ctx context.Context, r domain.Repository, p contracts.UserRegistered) error {
	return r.UpsertUser(ctx, domain.UserInfo{ID: p.UserID, Email: p.Email, FirstName: p.FirstName, LastName: p.LastName})
}

// EventPublished records a bookable event.
func (s *Service) EventPublished(ctx context.Context, r domain.Repository, p contracts.EventPublished) error {
	id, err := factID("event_id", p.EventID)
	if err != nil {
		return err
	}
	secs := make([]domain.SectionInfo, len(p.Sections))
	for i, sec := range p.Sections {
		secs[i] = domain.SectionInfo{SectionID: sec.SectionID, Name: sec.Name, Price: sec.Price}
	}
	starts := p.StartsAt
	return r.UpsertEvent(ctx, domain.EventInfo{ID: id, Name: p.Name, Status: "PUBLISHED", VenueName: p.VenueName,
		StartsAt: &starts, Currency: p.Currency, Sections: secs, Version: p.Version})
}

// EventUpdated records changed names, times, prices and status.
func (s *Service) EventUpdated(ctx context.Context, r domain.Repository, p contracts.EventUpdated) error {
	id, err := factID("event_id", p.EventID)
	if err != nil {
		return err
	}
	info := domain.EventInfo{ID: id, Name: p.Name, Status: p.Status, Currency: p.Currency, Version: p.Version}
	if info.Status == "" {
		info.Status = "PUBLISHED"
	}
	if !p.StartsAt.IsZero() {
		starts := p.StartsAt
		info.StartsAt = &starts
	}
	if old, err := r.Event(ctx, id); err == nil && len(p.Prices) > 0 {
		price := map[string]int64{}
		for _, pr := range p.Prices {
			price[pr.SectionID] = pr.Price
		}
		for _, sec := range old.Sections {
			if pv, ok := price[sec.SectionID]; ok {
				sec.Price = pv
			}
			info.Sections = append(info.Sections, sec)
		}
	}
	if err := r.UpsertEvent(ctx, info); err != nil {
		return err
	}
	if info.Status == "CANCELLED" {
		return s.cancelEntries(ctx, r, id, "")
	}
	return nil
}

// EventCancelled ends every live entry of the event and tells each person.
func (s *Service) EventCancelled(ctx context.Context, r domain.Repository, p contracts.EventCancelled) error {
	id, err := factID("event_id", p.EventID)
	if err != nil {
		return err
	}
	if err := r.UpsertEvent(ctx, domain.EventInfo{ID: id, Status: "CANCELLED"}); err != nil {
		return err
	}
	return s.cancelEntries(ctx, r, id, p.Reason)
}

func (s *Service) cancelEntries(ctx context.Context, r domain.Repository, eventID uuid.UUID, reason string) error {
	live, err := r.LiveEntries(ctx, eventID)
	if err != nil {
		return err
	}
	now := s.Now()
	for _, e := range live {
		ok, err := r.EndEntry(ctx, e.ID, []domain.Status{domain.StatusWaiting, domain.StatusOffered},
			domain.StatusCancelled, domain.EndEventCancelled, nil, now)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := notify(ctx, r, mail.KindEventCancelled, e.ID.String(), e.UserID, eventID, mail.Data{Reason: reason}); err != nil {
			return err
		}
		if err := r.Publish(ctx, eventID, contracts.TypeWaitlistLeft, contracts.WaitlistLeft{EntryID: e.ID.String(),
			EventID: eventID.String(), UserID: e.UserID, Reason: domain.EndEventCancelled, LeftAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// SeatsReleased wakes the queue: seats of a cancelled booking are for sale again.
func (s *Service) SeatsReleased(ctx context.Context, r domain.Repository, p contracts.SeatsReleased) error {
	if p.Reason == contracts.ReleaseEventCancelled {
		return nil
	}
	return s.wake(ctx, r, p.EventID, "seats released")
}

// HoldExpired ends a lapsed offer (its seats go to the next in line) and wakes the queue
// for any lapsed hold, since its seats are free again.
func (s *Service) HoldExpired(ctx context.Context, r domain.Repository, p contracts.HoldExpired) error {
	if p.Purpose == contracts.HoldPurposeWaitlistOffer {
		if err := s.endOffer(ctx, r, p.HoldID, domain.StatusExpired, domain.EndOfferLapsed, p.ExpiredAt); err != nil {
			return err
		}
	}
	return s.wake(ctx, r, p.EventID, "hold expired")
}

// HoldReleased treats an offer hold given up at inventory as the user declining the offer.
func (s *Service) HoldReleased(ctx context.Context, r domain.Repository, p contracts.HoldReleased) error {
	if p.Purpose == contracts.HoldPurposeWaitlistOffer {
		if err := s.endOffer(ctx, r, p.HoldID, domain.StatusCancelled, domain.EndOfferDeclined, p.ReleasedAt); err != nil {
			return err
		}
	}
	return s.wake(ctx, r, p.EventID, "hold released")
}

func (s *Service) endOffer(ctx context.Context, r domain.Repository, holdID string, to domain.Status, reason string, at time.Time) error {
	hid, valid := parseID(holdID)
	if !valid {
		return nil // not one of ours: offer holds have UUID ids
	}
	e, err := r.EntryByHold(ctx, hid)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if at.IsZero() {
		at = s.Now()
	}
	ok, err := r.EndEntry(ctx, e.ID, []domain.Status{domain.StatusOffered}, to, reason, nil, at.UTC())
	if err != nil || !ok {
		return err
	}
	if to == domain.StatusExpired {
		if err := notify(ctx, r, mail.KindOfferExpired, holdID, e.UserID, e.EventID, mail.Data{HoldID: holdID}); err != nil {
			return err
		}
		return r.Publish(ctx, e.EventID, contracts.TypeWaitlistExpired, contracts.WaitlistExpired{EntryID: e.ID.String(),
			EventID: e.EventID.String(), UserID: e.UserID, HoldID: holdID, ExpiredAt: at.UTC()})
	}
	return r.Publish(ctx, e.EventID, contracts.TypeWaitlistLeft, contracts.WaitlistLeft{EntryID: e.ID.String(),
		EventID: e.EventID.String(), UserID: e.UserID, Reason: reason, LeftAt: at.UTC()})
}

// wake requests an offer round when someone waits for the event.
func (s *Service) wake(ctx context.Context, r domain.Repository, event, why string) error {
	id, valid := parseID(event)
	if !valid {
		return nil // not a UUID, so no entry can be waiting for it
	}
	waiting, err := r.HasWaiting(ctx, id)
	if err != nil || !waiting {
		return err
	}
	return r.RequestRound(ctx, id, why)
}

// BookingConfirmed emails the buyer and converts the entry whose offer hold was booked.
func (s *Service) BookingConfirmed(ctx context.Context, r domain.Repository, p contracts.BookingConfirmed) error {
	return s.BookingsConfirmed(ctx, r, []contracts.BookingConfirmed{p})
}

// BookingsConfirmed is BookingConfirmed for a batch of facts in one transaction: the
// confirmation e-mails are read and written in one statement each, and the offers among
// the holds found in one, so a rush's bookings cost the waitlist three statements per
// batch instead of three per booking.
func (s *Service) BookingsConfirmed(ctx context.Context, r domain.Repository, facts []contracts.BookingConfirmed) error {
	keys := make([]domain.AddresseeKey, len(facts))
	for i, p := range facts {
		eventID, err := factID("event_id", p.EventID)
		if err != nil {
			return err
		}
		keys[i] = domain.AddresseeKey{UserID: p.UserID, EventID: eventID}
	}
	to, err := r.Addressees(ctx, keys)
	if err != nil {
		return err
	}
	mails := make([]domain.Notification, len(facts))
	holds := make([]uuid.UUID, 0, len(facts))
	for i, p := range facts {
		seats := make([]domain.HeldSeat, len(p.Seats))
		for j, st := range p.Seats {
			seats[j] = domain.HeldSeat{SeatID: st.SeatID, SectionID: st.SectionID, Label: st.Label, Price: st.Price}
		}
		d := mail.Data{BookingRef: p.BookingRef, Seats: seatLines(seats, p.Currency), Total: domain.FormatMoney(p.TotalAmount, p.Currency),
			Quantity: len(p.Seats)}
		if mails[i], err = notification(to[i], mail.KindBookingConfirmed, p.BookingID, p.UserID, keys[i].EventID, d); err != nil {
			return err
		}
		if hid, ok := parseID(p.HoldID); ok { // offer holds have UUID ids; others are not ours
			holds = append(holds, hid)
		}
	}
	if err := r.AddNotifications(ctx, mails); err != nil {
		return err
	}
	offers, err := r.EntriesByHolds(ctx, holds)
	if err != nil {
		return err
	}
	for _, e := range offers {
		for _, p := range facts {
			if hid, ok := parseID(p.HoldID); ok && e.Offer != nil && e.Offer.HoldID == hid {
				if err := s.convertOffer(ctx, r, e, p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// convertOffer ends the offer entry e whose hold p's booking bought.
func (s *Service) convertOffer(ctx context.Context, r domain.Repository, e domain.Entry, p contracts.BookingConfirmed) error {
	bookingID, err := factID("booking_id", p.BookingID)
	if err != nil {
		return err
	}
	at := p.ConfirmedAt.UTC()
	if at.IsZero() {
		at = s.Now()
	}
	// EXPIRED too: a booking committed in the offer's last instant may be read after the
	// sweeper's hold.expired; the booking is what really happened.
	ok, err := r.EndEntry(ctx, e.ID, []domain.Status{domain.StatusOffered, domain.StatusExpired}, domain.StatusConverted,
		domain.EndBooked, &bookingID, at)
	if err != nil || !ok {
		return err
	}
	return r.Publish(ctx, e.EventID, contracts.TypeWaitlistConverted, contracts.WaitlistConverted{EntryID: e.ID.String(),
		EventID: e.EventID.String(), UserID: e.UserID, BookingID: p.BookingID, ConvertedAt: at})
}

// BookingCancelled emails the buyer the cancellation and refund. Inventory releases the
// seats and its seats.released wakes the queue.
func (s *Service) BookingCancelled(ctx context.Context, r domain.Repository, p contracts.BookingCancelled) error {
	eventID, err := factID("event_id", p.EventID)
	if err != nil {
		return err
	}
	reason := ""
	if p.Reason == contracts.CancelEventCancelled {
		reason = "the event was cancelled"
	} else if p.Reason != "" && p.Reason != contracts.CancelByUser {
		reason = strings.ToLower(strings.ReplaceAll(p.Reason, "_", " "))
	}
	d := mail.Data{BookingRef: p.BookingRef, Total: domain.FormatMoney(p.TotalAmount, p.Currency),
		Refund: domain.FormatMoney(p.RefundAmount, p.Currency), Fee: domain.FormatMoney(p.CancellationFee, p.Currency), Reason: reason}
	return notify(ctx, r, mail.KindBookingCancelled, p.BookingID, p.UserID, eventID, d)
}

// factID parses an id a consumed fact must carry. A malformed one can never apply, so the
// event is dead-lettered at once rather than retried.
func factID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, consumer.Permanent(fmt.Errorf("%s %q: %w", field, s, err))
	}
	return id, nil
}

// parseID parses an id another service sent and reports false when it is not a UUID:
// the waitlist keys everything by UUID, so such an id names nothing of ours.
func parseID(s string) (uuid.UUID, bool) {
	id, err := uuid.Parse(s)
	return id, err == nil
}
