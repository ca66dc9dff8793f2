package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

type Inner struct {
	Addr string `envconfig:"TEST_CFG_ADDR" default:":8080"`
}

type sample struct {
	Inner
	URL     string        `envconfig:"TEST_CFG_URL" required:"true"`
	Secret  string        `envconfig:"TEST_CFG_SECRET" mask:"true"`
	Timeout time.Duration `envconfig:"TEST_CFG_TIMEOUT" default:"5s"`
}

func TestLoadFailsOnMissingRequiredVariableByName(t *testing.T) {
	t.Setenv("TEST_CFG_URL", "")
	_ = os.Unsetenv("TEST_CFG_URL")
	var c sample
	err := Load(&c)
	if err == nil || !strings.Contains(err.Error(), "TEST_CFG_URL") {
		t.Fatalf("want error naming TEST_CFG_URL, got %v", err)
	}
}

func TestLoadFailsOnBadValueByName(t *testing.T) {
	t.Setenv("TEST_CFG_URL", "x")
	t.Setenv("TEST_CFG_TIMEOUT", "soon")
	var c sample
	err := Load(&c)
	if err == nil || !strings.Contains(err.Error(), "TEST_CFG_TIMEOUT") {
		t.Fatalf("want error naming TEST_CFG_TIMEOUT, got %v", err)
	}
}

func TestLoadDefaultsAndMasking(t *testing.T) {
	t.Setenv("TEST_CFG_URL", "postgres://x")
	t.Setenv("TEST_CFG_SECRET", "hunter2")
	var c sample
	if err := Load(&c); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.Timeout != 5*time.Second {
		t.Fatalf("defaults not applied: %+v", c)
	}
	s := String(&c)
	if strings.Contains(s, "hunter2") || !strings.Contains(s, "TEST_CFG_SECRET=****") {
		t.Fatalf("secret not masked: %s", s)
	}
	if !strings.Contains(s, "TEST_CFG_ADDR=:8080") {
		t.Fatalf("embedded field missing: %s", s)
	}
}
