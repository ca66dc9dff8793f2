// Command inventory runs Evently's inventory service: "serve" (default) or "migrate [up|down N]".
package main

import (
	"context"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/inventory/internal/app"
	"evently.dev/services/inventory/internal/config"
	"evently.dev/services/inventory/internal/events"
	"evently.dev/services/inventory/internal/holds"
	invhttp "evently.dev/services/inventory/internal/http"
	"evently.dev/services/inventory/internal/live"
	"evently.dev/services/inventory/internal/store"
	"evently.dev/services/inventory/migrations"
)

func main() {
	var cfg config.Config
	platform.Main(platform.Service{
		Name:          "inventory",
		DefaultAddr:   ":8083",
		DefaultSchema: "inventory",
		Config:        &cfg,
		Common:        &cfg.Common,
		Redis:         &cfg.Redis,
		Kafka:         &cfg.Kafka,
		Migrations:    migrations.FS,
		Topics:        []string{contracts.TopicInventorySeats, contracts.TopicCatalogEvents, contracts.TopicBookingBookings},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			hs := holds.New(rt.Redis, cfg.Redis.KeyPrefix)
			if err := hs.LoadScripts(ctx); err != nil {
				return err
			}
			svc := app.New(store.New(rt.DB), hs, app.SettingsOf(cfg), rt.Log)
			rt.OnClose(svc.Close)
			hub := live.NewHub(rt.Redis, hs.Channel, cfg.SSEBuffer, rt.Log)
			rt.OnClose(hub.Close)
			h := &invhttp.Handler{App: svc, Hub: hub, Heartbeat: cfg.SSEHeartbeat, MaxStream: cfg.SSEMaxDuration}
			h.Register(rt.Echo)
			rt.Server.NoTimeout(invhttp.StreamPath)
			rt.Go("hold-sweeper", svc.RunSweeper)
			rt.Go("hold-announcer", svc.RunAnnouncer)
			ev := &events.Handlers{App: svc, Log: rt.Log}
			if err := rt.Consume(consumer.Options{Group: events.GroupCatalog,
				Topics:  []string{contracts.TopicCatalogEvents},
				Types:   []string{contracts.TypeEventPublished, contracts.TypeEventUpdated, contracts.TypeEventCancelled},
				Handler: ev.Catalog}); err != nil {
				return err
			}
			return rt.Consume(consumer.Options{Group: events.GroupBookings,
				Topics: []string{contracts.TopicBookingBookings}, Types: []string{contracts.TypeBookingCancelled},
				Handler: ev.Bookings})
		},
	})
}
