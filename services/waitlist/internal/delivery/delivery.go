// Package delivery is the notification sender: it leases due emails from the
// notifications table (FOR UPDATE SKIP LOCKED, so replicas share the work), hands them to
// the mail server with no transaction open and records the outcome. A mail-server outage
// only delays emails: each failure is retried with exponential backoff until
// NOTIFY_MAX_ATTEMPTS.
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
	// Lease is how long a claim keeps other senders off its notifications [2m]. A pass
	// stops starting new messages after half of it, so a live sender records every outcome
	// before its lease runs out; a sender that died leaves its claim to run out, after
	// which the notifications are mailed again.
	Lease time.Duration
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
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
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

// SendOnce leases one batch of due notifications, tries each once and records the
// outcome; it returns how many it claimed. The lease, not a row lock, keeps other senders
// off them while mailing: no transaction waits on the mail server.
func (s *Sender) SendOnce(ctx context.Context) (int, error) {
	due, err := store.ClaimNotifications(ctx, s.DB, s.Opts.Batch, s.Opts.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim notifications: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	var envs []mail.Envelope
	var sendable []store.PendingNotification
	failures := map[int]string{}
	for i, n := range due {
		if n.Recipient == nil || *n.Recipient == "" {
			// identity's user.registered may still be on its way.
			failures[i] = "recipient unknown: no user.registered seen for this user yet"
			continue
		}
		sendable = append(sendable, n)
		envs = append(envs, mail.Envelope{ID: n.ID.String(), To: *n.Recipient, Subject: n.Subject, Text: n.BodyText, HTML: n.BodyHTML})
	}
	var errs []error
	if len(envs) > 0 {
		// Half the lease: the outcome is recorded while the claim still stands.
		mailCtx, cancel := context.WithTimeout(ctx, s.Opts.Lease/2)
		errs = s.Mailer.SendAll(mailCtx, envs)
		cancel()
	}
	// The outcome is recorded even when ctx ends now (shutdown): what was mailed stays
	// mailed, and nothing waits out the lease to be mailed again.
	err = s.DB.RunInTx(context.WithoutCancel(ctx), nil, func(ctx context.Context, tx bun.Tx) error {
		for i, cause := range failures {
			if err := s.failed(ctx, tx, due[i], cause); err != nil {
				return err
			}
		}
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
	if err != nil {
		return len(due), fmt.Errorf("record delivery outcome: %w", err)
	}
	return len(due), nil
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
