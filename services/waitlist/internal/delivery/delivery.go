// Package delivery is the notification sender: it claims due emails from the
// notifications table (FOR UPDATE SKIP LOCKED, so replicas share the work), hands them to
// the mail server and records the outcome. A mail-server outage only delays emails: each
// failure is retried with exponential backoff until NOTIFY_MAX_ATTEMPTS.
package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"evently.dev/libs/retry"

	"evently.dev/services/waitlist/internal/mail"
	"evently.dev/services/waitlist/internal/store"
)

// Mailer delivers emails; one error (or nil) per envelope.
type Mailer interface {
	SendAll(ctx context.Context, envs []mail.Envelope) []error
}

// Options tunes a Sender. Zero values select the defaults in brackets.
type Options struct {
	PollInterval time.Duration // [500ms]
	Batch        int           // [20]
	MaxAttempts  int           // [12]
	MinBackoff   time.Duration // [5s]
	MaxBackoff   time.Duration // [15m]
}

// Sender delivers queued notifications.
type Sender struct {
	DB     *bun.DB
	Mailer Mailer
	Opts   Options
	Log    *slog.Logger
}

// New returns a sender with defaults filled in.
func New(db *bun.DB, m Mailer, o Options, log *slog.Logger) *Sender {
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 15 * time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	return &Sender{DB: db, Mailer: m, Opts: o, Log: log}
}

// Run delivers until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	t := time.NewTicker(s.Opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for {
			n, err := s.SendOnce(ctx)
			if err != nil && ctx.Err() == nil {
				s.Log.WarnContext(ctx, "notification delivery pass failed", "error", err)
			}
			if err != nil || n < s.Opts.Batch {
				break
			}
		}
	}
}

// SendOnce claims one batch of due notifications, tries each once and records the
// outcome; it returns how many it claimed. The claim's row locks are held while mailing,
// so no other sender mails the same notification at the same time.
func (s *Sender) SendOnce(ctx context.Context) (int, error) {
	claimed := 0
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		due, err := store.ClaimNotifications(ctx, tx, s.Opts.Batch)
		if err != nil {
			return fmt.Errorf("claim notifications: %w", err)
		}
		claimed = len(due)
		var envs []mail.Envelope
		var sendable []store.PendingNotification
		for _, n := range due {
			if n.Recipient == nil || *n.Recipient == "" {
				// identity's user.registered may still be on its way.
				if err := s.failed(ctx, tx, n, "recipient unknown: no user.registered seen for this user yet"); err != nil {
					return err
				}
				continue
			}
			sendable = append(sendable, n)
			envs = append(envs, mail.Envelope{ID: n.ID.String(), To: *n.Recipient, Subject: n.Subject, Text: n.BodyText, HTML: n.BodyHTML})
		}
		if len(envs) == 0 {
			return nil
		}
		errs := s.Mailer.SendAll(ctx, envs)
		sent := make([]store.Delivered, 0, len(sendable))
		for i, n := range sendable {
			if errs[i] != nil {
				if err := s.failed(ctx, tx, n, errs[i].Error()); err != nil {
					return err
				}
				continue
			}
			sent = append(sent, store.Delivered{ID: n.ID, Recipient: *n.Recipient})
		}
		return store.MarkSent(ctx, tx, sent)
	})
	return claimed, err
}

func (s *Sender) failed(ctx context.Context, tx bun.Tx, n store.PendingNotification, cause string) error {
	attempts := n.Attempts + 1
	final := attempts >= s.Opts.MaxAttempts
	wait := retry.Backoff(s.Opts.MinBackoff, s.Opts.MaxBackoff, attempts)
	if final {
		s.Log.ErrorContext(ctx, "notification failed for good", "notification_id", n.ID, "kind", n.Kind, "attempts", attempts, "error", cause)
	} else {
		s.Log.WarnContext(ctx, "notification delivery failed, will retry", "notification_id", n.ID, "kind", n.Kind,
			"attempts", attempts, "retry_in", wait, "error", cause)
	}
	return store.MarkAttemptFailed(ctx, tx, n.ID, cause, time.Now().Add(wait), final)
}
