// Command booking runs Evently's booking service: "serve" (default) or "migrate [up|down N]".
package main

import (
	"context"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/booking/internal/app"
	"evently.dev/services/booking/internal/config"
	"evently.dev/services/booking/internal/events"
	bookinghttp "evently.dev/services/booking/internal/http"
	"evently.dev/services/booking/internal/inventory"
	"evently.dev/services/booking/internal/payment"
	"evently.dev/services/booking/internal/store"
	"evently.dev/services/booking/migrations"
)

func main() {
	var cfg config.Config
	platform.Main(platform.Service{
		Name:          "booking",
		DefaultAddr:   ":8084",
		DefaultSchema: "booking",
		Config:        &cfg,
		Common:        &cfg.Common,
		Kafka:         &cfg.Kafka,
		Migrations:    migrations.FS,
		Topics:        []string{contracts.TopicBookingBookings, contracts.TopicCatalogEvents, contracts.TopicInventorySeats},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			pay, err := payment.New(cfg.PaymentProvider, cfg.PaymentSimulateDecline)
			if err != nil {
				return err
			}
			inv := inventory.New(inventory.Options{BaseURL: cfg.Inventory.URL, Secret: cfg.Assertion.Secret,
				Timeout: cfg.Inventory.Timeout, Retries: cfg.Inventory.Retries,
				RetryBackoff: cfg.Inventory.RetryBackoff, MaxIdleConns: cfg.Inventory.MaxIdleConns})
			svc := app.NewWith(store.New(rt.DB), inv, pay, rt.Log, cfg.Commit.MaxBatch, cfg.Commit.Workers)
			rt.OnClose(svc.Close)
			(&bookinghttp.Handler{App: svc}).Register(rt.Echo)
			rt.Go("booking-reconciler", func(ctx context.Context) error {
				return svc.RunReconciler(ctx, app.ReconcileOptions{Interval: cfg.Reconcile.Interval,
					MinAge: cfg.Reconcile.MinAge, Batch: cfg.Reconcile.Batch, Lease: cfg.Reconcile.Lease})
			})
			rt.Go("sales-reconciler", func(ctx context.Context) error {
				return svc.RunSalesReconciler(ctx, cfg.Sales.CheckInterval, cfg.Sales.Grace, cfg.Sales.Batch)
			})
			ev := &events.Handlers{App: svc, Log: rt.Log}
			if err := rt.Consume(consumer.Options{Group: events.GroupInventory,
				Topics: []string{contracts.TopicInventorySeats}, Types: []string{contracts.TypeSeatsSold},
				Handler: ev.Inventory, Scope: ev.SalesScope}); err != nil {
				return err
			}
			return rt.Consume(consumer.Options{Group: events.GroupCatalog,
				Topics: []string{contracts.TopicCatalogEvents}, Handler: ev.Catalog})
		},
	})
}
