// Package config is the waitlist service's configuration, read from the environment.
package config

import (
	"evently.dev/libs/kafka"
	"evently.dev/libs/platform"
)

// Config is every setting of the waitlist service; the README's configuration table lists them.
type Config struct {
	platform.Common
	Kafka kafka.Config
}
