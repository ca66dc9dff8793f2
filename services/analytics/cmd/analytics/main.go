// Command analytics runs Evently's analytics service: "serve" (default), "migrate
// [up|down N]", or "rebuild" (replay every topic into a fresh generation and switch).
package main

import (
	"context"
	"time"

	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/analytics/internal/app"
	"evently.dev/services/analytics/internal/config"
	"evently.dev/services/analytics/internal/domain"
	"evently.dev/services/analytics/internal/events"
	analyticshttp "evently.dev/services/analytics/internal/http"
	"evently.dev/services/analytics/internal/store"
	"evently.dev/services/analytics/migrations"
)

func main() {
	var cfg config.Config
	var st *store.Store
	platform.Main(platform.Service{
		Name:          "analytics",
		DefaultAddr:   ":8086",
		DefaultSchema: "analytics",
		Config:        &cfg,
		Common:        &cfg.Common,
		Kafka:         &cfg.Kafka,
		Migrations:    migrations.FS,
		Topics:        []string{contracts.TopicCatalogEvents, contracts.TopicInventorySeats, contracts.TopicBookingBookings, contracts.TopicWaitlist},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			if _, err := domain.LoadZone(cfg.Analytics.Timezone); err != nil {
				return err
			}
			st = store.New(rt.DB)
			serving, err := st.AdoptTimezone(ctx, cfg.Analytics.Timezone)
			if err != nil {
				return err
			}
			if serving != cfg.Analytics.Timezone {
				rt.Log.Warn("ANALYTICS_TIMEZONE differs from the zone the serving read models were built in; "+
					"run `analytics rebuild` to apply it", "configured", cfg.Analytics.Timezone, "serving", serving)
			}
			h := &analyticshttp.Handlers{Reports: &app.Reports{Models: st, LiveMinutes: cfg.Analytics.LiveMinutes}}
			h.Routes(rt.Echo)
			f := &events.Follower{Store: st, Kafka: rt.Kafka, GroupBase: groupBase(cfg), Poll: cfg.Analytics.GenerationPoll, Log: rt.Log,
				Consumer: cfg.Consumer}
			rt.Server.AddCheck("consumer:analytics", f.Check)
			rt.Go("analytics-consumer", f.Run)
			return nil
		},
		Commands: map[string]func(ctx context.Context, rt *platform.Runtime, args []string) error{
			"rebuild": func(ctx context.Context, rt *platform.Runtime, _ []string) error {
				rb := &app.RebuildReadModels{
					Generations: st,
					Replayer:    &events.Replayer{Store: st, Kafka: rt.Kafka, GroupBase: groupBase(cfg), Log: rt.Log},
					Log:         rt.Log,
					Timezone:    cfg.Analytics.Timezone,
					Timeout:     cfg.Analytics.RebuildTimeout,
					Grace:       2*cfg.Analytics.GenerationPoll + time.Second,
				}
				_, err := rb.Run(ctx)
				return err
			},
		},
	})
}

// groupBase is the logical group name; the consumer runner adds KAFKA_TOPIC_PREFIX to the
// Kafka group id, so environments sharing a cluster never share a consumer group.
func groupBase(cfg config.Config) string { return cfg.Analytics.GroupBase }
