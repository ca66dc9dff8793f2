package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"
)

func TestPermanent(t *testing.T) {
	base := errors.New("bad payload")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"permanent", consumer.Permanent(base), true},
		{"wrapped permanent", fmt.Errorf("apply: %w", consumer.Permanent(base)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consumer.IsPermanent(tt.err); got != tt.want {
				t.Fatalf("IsPermanent = %v, want %v", got, tt.want)
			}
		})
	}
	if !errors.Is(consumer.Permanent(base), base) {
		t.Fatal("Permanent hides the cause from errors.Is")
	}
	if consumer.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) is not nil")
	}
}

func TestNewRejectsIncompleteOptions(t *testing.T) {
	h := func(context.Context, bun.Tx, kafka.Event) error { return nil }
	db := &bun.DB{}
	tests := []struct {
		name string
		db   *bun.DB
		opts consumer.Options
	}{
		{"no db", nil, consumer.Options{Group: "g", Topics: []string{"t"}, Handler: h}},
		{"no group", db, consumer.Options{Topics: []string{"t"}, Handler: h}},
		{"no topics", db, consumer.Options{Group: "g", Handler: h}},
		{"no handler", db, consumer.Options{Group: "g", Topics: []string{"t"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := consumer.New(kafka.Config{}, tt.db, tt.opts); err == nil {
				t.Fatal("New accepted incomplete options")
			}
		})
	}
}
