package testkit_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"evently.dev/libs/testkit"
)

// fatalRecorder keeps the message of a Fatalf and stops the calling goroutine, as
// testing.T does, so Eventually's failure path can be checked.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	calls := 0
	testkit.Eventually(t, 5*time.Second, func() bool { calls++; return calls == 3 }, "third call")
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
}

func TestEventuallyReportsTheLastStateSeen(t *testing.T) {
	t.Parallel()
	r := &fatalRecorder{TB: t}
	seen := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		testkit.Eventually(r, 100*time.Millisecond, func() bool { seen++; return false },
			"never; last %v", testkit.Lazy(func() string { return fmt.Sprint(seen) }))
	}()
	<-done
	if seen < 2 {
		t.Fatalf("cond polled %d times in 100 ms", seen)
	}
	want := fmt.Sprintf("waiting for: never; last %d", seen)
	if !strings.HasSuffix(r.msg, want) {
		t.Fatalf("message %q, want it to end with %q (the value at failure, not at the call)", r.msg, want)
	}
}
