// Package libs is the shared foundation of Evently's services: configuration, logging,
// telemetry, the HTTP server skeleton, PostgreSQL and migrations, Redis, Kafka with the
// outbox and inbox, the gateway identity assertion, event contracts and test helpers.
// It holds no business rules; those belong to the service that owns them.
package libs
