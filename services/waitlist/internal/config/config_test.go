package config

import (
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{SMTP: SMTP{TLS: "none"}, Offer: Offer{Window: 15 * time.Minute, SweepInterval: 30 * time.Second}, Notify: Notify{Batch: 1, MaxAttempts: 1}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mutate := range []func(*Config){
		func(c *Config) { c.SMTP.TLS = "ssl" },
		func(c *Config) { c.Offer.Window = 0 },
		func(c *Config) { c.Offer.SweepInterval = 0 },
		func(c *Config) { c.Notify.Batch = 0 },
	} {
		c := ok
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("invalid config accepted: %+v", c)
		}
	}
}
