package main

import (
	"testing"
	"time"
)

func TestShortSelectsTheShortDrillsButExplicitFlagsWin(t *testing.T) {
	o, _, err := parseFlags([]string{"-short"})
	if err != nil {
		t.Fatal(err)
	}
	if o.drills != shortDrills || o.d.KafkaDown != 10*time.Second || o.d.Recover != time.Minute {
		t.Fatalf("-short gave drills %q, kafka-down %s, recover %s", o.drills, o.d.KafkaDown, o.d.Recover)
	}
	o, _, err = parseFlags([]string{"-short", "-kafka-down", "3s", "-drills", "poison"})
	if err != nil {
		t.Fatal(err)
	}
	if o.drills != "poison" || o.d.KafkaDown != 3*time.Second {
		t.Fatalf("explicit flags lost under -short: drills %q, kafka-down %s", o.drills, o.d.KafkaDown)
	}
	o, _, err = parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.d.KafkaDown != 30*time.Second || o.d.KafkaFrozen != 30*time.Second || o.d.SMTPDown != time.Minute {
		t.Fatalf("full defaults: kafka %s/%s, smtp %s; the issue asks for 30 s and 60 s", o.d.KafkaDown, o.d.KafkaFrozen, o.d.SMTPDown)
	}
	if _, _, err := parseFlags([]string{"-rate", "0"}); err == nil {
		t.Fatal("-rate 0 accepted")
	}
}

func TestAdminURLIsThousandPortsUp(t *testing.T) {
	if got := adminURL("http://127.0.0.1:24003"); got != "http://127.0.0.1:25003" {
		t.Fatalf("adminURL = %s", got)
	}
}
