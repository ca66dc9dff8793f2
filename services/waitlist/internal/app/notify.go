package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"evently.dev/services/waitlist/internal/domain"
	"evently.dev/services/waitlist/internal/mail"
)

// notify renders one email and queues it in r's transaction. key names the cause, so a
// cause applied twice queues one email.
func notify(ctx context.Context, r domain.Repository, kind, key, userID string, eventID uuid.UUID, d mail.Data) error {
	if u, err := r.User(ctx, userID); err == nil {
		d.FirstName = u.FirstName
	} else if !isNotFound(err) {
		return err
	}
	if d.EventName == "" {
		ev, err := r.Event(ctx, eventID)
		switch {
		case err == nil:
			d.EventName, d.VenueName = ev.Name, ev.VenueName
			if ev.StartsAt != nil {
				d.EventStart = formatTime(*ev.StartsAt)
			}
		case isNotFound(err):
		default:
			return err
		}
	}
	if d.EventName == "" {
		d.EventName = "your event"
	}
	m, err := mail.Render(kind, d)
	if err != nil {
		return err
	}
	ev := eventID
	return r.AddNotification(ctx, domain.Notification{DedupeKey: kind + ":" + key, UserID: userID, EventID: &ev,
		Kind: kind, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
}

func formatTime(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006, 15:04 UTC") }

// formatDeadline keeps the seconds: an offer window may be short.
func formatDeadline(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006, 15:04:05 UTC") }

func seatLines(seats []domain.HeldSeat, currency string) []mail.SeatLine {
	out := make([]mail.SeatLine, len(seats))
	for i, s := range seats {
		label := s.Label
		if label == "" {
			label = s.SeatID
		}
		out[i] = mail.SeatLine{Label: fmt.Sprintf("%s (%s)", label, s.SeatID), Price: domain.FormatMoney(s.Price, currency)}
	}
	return out
}

// isNotFound reports a repository's missing-row error.
func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFoundInStore) }
