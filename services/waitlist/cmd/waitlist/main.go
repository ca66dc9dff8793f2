// Command waitlist runs Evently's waitlist service: "serve" (default) or "migrate [up|down N]".
package main

import (
	"context"

	"evently.dev/libs/contracts"
	"evently.dev/libs/platform"

	"evently.dev/services/waitlist/internal/config"
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
		Topics:        []string{contracts.TopicWaitlist, contracts.TopicIdentityUsers, contracts.TopicCatalogEvents, contracts.TopicInventorySeats, contracts.TopicBookingBookings},
		Setup: func(ctx context.Context, rt *platform.Runtime) error {
			return nil
		},
	})
}
