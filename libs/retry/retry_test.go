package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{{0, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond}, {7, 5 * time.Second}, {1000, 5 * time.Second}}
	for _, tc := range tests {
		if got := Backoff(100*time.Millisecond, 5*time.Second, tc.failures); got != tc.want {
			t.Errorf("Backoff(%d) = %s, want %s", tc.failures, got, tc.want)
		}
	}
}

func TestSleepStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep must give up on a cancelled context")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep must report a completed wait")
	}
}
