// Command booking runs Evently's booking service: "serve" (default) or "migrate [up|down N]".
package main

import (
	"context"

	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/booking/internal/config"
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
		Topics:        []string{contracts.TopicBookingBookings, contracts.TopicCatalogEvents},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			return nil
		},
	})
}
