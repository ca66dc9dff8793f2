// Command catalog runs Evently's catalog service: "serve" (default) or "migrate [up|down N]".
package main

import (
	"context"
	_ "time/tzdata" // event time zones are validated without relying on the host's zoneinfo

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/catalog/internal/app"
	"evently.dev/services/catalog/internal/cache"
	"evently.dev/services/catalog/internal/config"
	"evently.dev/services/catalog/internal/events"
	cataloghttp "evently.dev/services/catalog/internal/http"
	"evently.dev/services/catalog/internal/store"
	"evently.dev/services/catalog/migrations"
)

func main() {
	var cfg config.Config
	platform.Main(platform.Service{
		Name:          "catalog",
		DefaultAddr:   ":8082",
		DefaultSchema: "catalog",
		Config:        &cfg,
		Common:        &cfg.Common,
		Redis:         &cfg.Redis,
		Kafka:         &cfg.Kafka,
		Migrations:    migrations.FS,
		Topics:        []string{contracts.TopicCatalogEvents, contracts.TopicInventorySeats},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			c := cache.Browse{Cache: cache.New(rt.Redis, cfg.Redis.KeyPrefix, cfg.CacheTTL, rt.Log)}
			catalog := app.New(store.New(rt.DB), c, nil)
			cataloghttp.Register(rt.Echo, catalog)
			rt.Go("event-completer", func(ctx context.Context) error {
				return catalog.RunEventCompleter(ctx, rt.Log, cfg.CompleteInterval, cfg.CompleteBatch)
			})
			avail := events.NewAvailability(catalog, rt.Log)
			return rt.Consume(consumer.Options{
				Group:   events.AvailabilityGroup, // the runner adds the topic prefix
				Topics:  []string{contracts.TopicInventorySeats},
				Types:   []string{contracts.TypeSeatsSold, contracts.TypeSeatsReleased},
				Handler: avail.Handler(),
				Scope:   avail.Scope,
			})
		},
	})
}
