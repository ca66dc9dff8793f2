package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// waitlistScene is a sold-out event with a queue, so the SMTP drill also has waitlist
// e-mails to send while the mail server is away: joined, booking cancelled, and the
// offers the released seats trigger.
type waitlistScene struct {
	eventID  string
	bookings []struct{ id, token string }
	joiners  []string
}

// prepareWaitlist creates a 100-seat event and sells it out (2 seats a booking) with the
// first buyers; the next ten will queue for it.
func prepareWaitlist(ctx context.Context, e *Env) (*waitlistScene, error) {
	if len(e.Buyers) < 20 {
		return nil, errors.New("the waitlist part of the SMTP drill needs at least 20 buyers")
	}
	ev, _, pairs, err := newEvent(ctx, e, "waitlist", 100)
	if err != nil {
		return nil, err
	}
	w := &waitlistScene{eventID: ev.ID, joiners: e.Buyers[10:20]}
	if len(pairs) != 50 {
		return nil, fmt.Errorf("the waitlist event has %d seat pairs, want 50", len(pairs))
	}
	for i := range 50 {
		token := e.Buyers[i%10]
		var h struct {
			HoldID string `json:"hold_id"`
		}
		// Explicit pairs: best-available may leave single seats behind, and the event must
		// sell out completely for the queue to be allowed.
		if err := e.API.Call(ctx, http.MethodPost, "/api/v1/seats/hold", token, map[string]any{"event_id": ev.ID,
			"seat_ids": []string{pairs[i][0], pairs[i][1]}}, &h, http.StatusCreated); err != nil {
			return nil, fmt.Errorf("sell out the waitlist event: %w", err)
		}
		var b struct {
			BookingID string `json:"booking_id"`
		}
		if err := e.API.Call(ctx, http.MethodPost, "/api/v1/bookings/confirm", token, map[string]any{"hold_id": h.HoldID},
			&b, http.StatusCreated, http.StatusOK); err != nil {
			return nil, fmt.Errorf("sell out the waitlist event: %w", err)
		}
		w.bookings = append(w.bookings, struct{ id, token string }{b.BookingID, token})
	}
	return w, nil
}

// exercise queues ten buyers and cancels five bookings; the released seats go to the queue
// as offers, each with an e-mail.
func (w *waitlistScene) exercise(ctx context.Context, e *Env) error {
	// The seats-sold events must reach inventory's availability before a join is allowed.
	for _, token := range w.joiners {
		var err error
		for range 20 {
			if err = e.API.Call(ctx, http.MethodPost, "/api/v1/waitlist", token, map[string]any{"event_id": w.eventID, "quantity": 2},
				nil, http.StatusCreated); err == nil {
				break
			}
			sleepCtx(ctx, 500*time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("join the waitlist: %w", err)
		}
	}
	for _, b := range w.bookings[:5] {
		if err := e.API.Call(ctx, http.MethodPost, "/api/v1/bookings/"+b.id+"/cancel", b.token, map[string]any{},
			nil, http.StatusOK); err != nil {
			return fmt.Errorf("cancel a booking: %w", err)
		}
	}
	return nil
}

// offers counts the waitlist offer e-mails written for the scene's event.
func (w *waitlistScene) offers(ctx context.Context, p Probe) (int, error) {
	c, err := p.conn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	var n int
	err = c.QueryRow(ctx, `SELECT count(*) FROM waitlist.notifications WHERE event_id = $1 AND kind = 'waitlist_offer'`, w.eventID).Scan(&n)
	return n, err
}
