// Command analytics runs Evently's analytics service: "serve" (default) or "migrate [up|down N]".
package main

import (
	"context"

	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/analytics/internal/config"
)

func main() {
	var cfg config.Config
	platform.Main(platform.Service{
		Name:          "analytics",
		DefaultAddr:   ":8086",
		DefaultSchema: "analytics",
		Config:        &cfg,
		Common:        &cfg.Common,
		Kafka:         &cfg.Kafka,
		Topics:        []string{contracts.TopicCatalogEvents, contracts.TopicInventorySeats, contracts.TopicBookingBookings, contracts.TopicWaitlist},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			return nil
		},
	})
}
