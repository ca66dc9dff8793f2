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
	a, err := r.Addressee(ctx, userID, eventID)
	if err != nil {
		return err
	}
	n, err := notification(a, kind, key, userID, eventID, d)
	if err != nil {
		return err
	}
	return r.AddNotification(ctx, n)
}

// notification renders the e-mail of kind to a about eventID, deduplicated by kind and key.
func notification(a domain.Addressee, kind, key, userID string, eventID uuid.UUID, d mail.Data) (domain.Notification, error) {
	d.FirstName = a.FirstName
	if d.EventName == "" {
		d.EventName, d.VenueName = a.EventName, a.VenueName
		if a.StartsAt != nil {
			d.EventStart = formatTime(*a.StartsAt)
		}
	}
	if d.EventName == "" {
		d.EventName = "your event"
	}
	m, err := mail.Render(kind, d)
	if err != nil {
		return domain.Notification{}, err
	}
	ev := eventID
	return domain.Notification{DedupeKey: kind + ":" + key, UserID: userID, EventID: &ev,
		Kind: kind, Subject: m.Subject, Text: m.Text, HTML: m.HTML}, nil
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
