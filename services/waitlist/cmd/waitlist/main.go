// Command waitlist runs Evently's waitlist-notifier service: "serve" (default) or "migrate [up|down N]".
package main

import (
	"context"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/waitlist/internal/app"
	"evently.dev/services/waitlist/internal/config"
	"evently.dev/services/waitlist/internal/delivery"
	"evently.dev/services/waitlist/internal/events"
	wlhttp "evently.dev/services/waitlist/internal/http"
	"evently.dev/services/waitlist/internal/inventory"
	"evently.dev/services/waitlist/internal/mail"
	"evently.dev/services/waitlist/internal/store"
	"evently.dev/services/waitlist/migrations"
)

func main() {
	var cfg config.Config
	platform.Main(platform.Service{
		Name:          "waitlist",
		DefaultAddr:   ":8085",
		DefaultSchema: "waitlist",
		Config:        &cfg,
		Common:        &cfg.Common,
		Kafka:         &cfg.Kafka,
		Migrations:    migrations.FS,
		Topics:        append([]string{contracts.TopicWaitlist}, events.Topics...),
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			inv := inventory.New(inventory.Options{BaseURL: cfg.Inventory.URL, Secret: cfg.Assertion.Secret,
				Timeout: cfg.Inventory.Timeout, Retries: cfg.Inventory.Retries,
				RetryBackoff: cfg.Inventory.RetryBackoff, MaxIdleConns: cfg.Inventory.MaxIdleConns})
			svc := app.New(&store.Store{DB: rt.DB}, inv, app.Options{OfferWindow: cfg.Offer.Window,
				RoundPollInterval: cfg.Offer.PollInterval, RoundMaxBackoff: cfg.Offer.MaxBackoff}, rt.Log)
			(&wlhttp.Handler{App: svc}).Register(rt.Echo)
			rt.Go("offer-rounds", svc.RunRounds)
			rt.Go("offer-sweeper", func(ctx context.Context) error {
				return svc.RunOfferSweeper(ctx, cfg.Offer.SweepInterval, cfg.Offer.SweepGrace)
			})

			mailer := mail.NewSMTP(mail.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username,
				Password: cfg.SMTP.Password, TLS: cfg.SMTP.TLS, From: cfg.SMTP.From, Timeout: cfg.SMTP.Timeout})
			sender := delivery.New(rt.DB, mailer, delivery.Options{PollInterval: cfg.Notify.PollInterval, Batch: cfg.Notify.Batch,
				MaxAttempts: cfg.Notify.MaxAttempts, MinBackoff: cfg.Notify.MinBackoff, MaxBackoff: cfg.Notify.MaxBackoff}, rt.Log)
			rt.Go("notification-sender", sender.Run)

			// The group carries the topic prefix so isolated environments sharing one broker
			// (the end-to-end runs) never join each other's group.
			h := &events.Handlers{App: svc}
			return rt.Consume(consumer.Options{Group: events.Group, Topics: events.Topics, Types: events.Types, Handler: h.Handle,
				Scope: h.Scope})
		},
	})
}
