package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBatchesConcurrentCallers checks that callers arriving while a batch is in flight are
// coalesced, and that each gets its own result back.
func TestBatchesConcurrentCallers(t *testing.T) {
	var batches, maxSize atomic.Int32
	gate := make(chan struct{})
	c := New(Options[int, int]{
		Workers: 1,
		Batch: func(_ context.Context, reqs []int) ([]int, error) {
			batches.Add(1)
			if n := int32(len(reqs)); n > maxSize.Load() {
				maxSize.Store(n)
			}
			out := make([]int, len(reqs))
			for i, r := range reqs {
				out[i] = r * 10
			}
			return out, nil
		},
		Single: func(_ context.Context, r int) (int, error) {
			<-gate // hold the worker so the others queue up behind the first request
			return r * 10, nil
		},
	})
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.Do(context.Background(), i)
			if err != nil || got != i*10 {
				errs <- errors.New("wrong result")
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if maxSize.Load() < 2 {
		t.Fatalf("largest batch %d: queued callers were not coalesced", maxSize.Load())
	}
}

// TestFailedBatchFallsBackToSingles checks that a failing batch is retried request by
// request, so one bad request gets its own error and the others succeed.
func TestFailedBatchFallsBackToSingles(t *testing.T) {
	bad := errors.New("bad request")
	var fellBack atomic.Int32
	release := make(chan struct{})
	var first atomic.Bool
	c := New(Options[int, int]{
		Workers: 1,
		Batch: func(_ context.Context, reqs []int) ([]int, error) {
			for _, r := range reqs {
				if r == 3 {
					return nil, bad
				}
			}
			return reqs, nil
		},
		Single: func(_ context.Context, r int) (int, error) {
			if first.CompareAndSwap(false, true) {
				<-release
			}
			if r == 3 {
				return 0, bad
			}
			return r, nil
		},
		OnBatch: func(_ int, fb bool) {
			if fb {
				fellBack.Add(1)
			}
		},
	})
	defer c.Close()
	var wg sync.WaitGroup
	results := make([]error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.Do(context.Background(), i)
			if err == nil && got != i {
				err = errors.New("wrong result")
			}
			results[i] = err
		}()
		if i == 0 {
			time.Sleep(20 * time.Millisecond) // request 0 occupies the worker alone
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, err := range results {
		if i == 3 && !errors.Is(err, bad) {
			t.Fatalf("request 3: got %v, want its own error", err)
		}
		if i != 3 && err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if fellBack.Load() == 0 {
		t.Fatal("the failing batch did not fall back to singles")
	}
}

// TestCallerGivingUpDoesNotCancelTheBatch checks that a cancelled caller gets its context
// error while the write it asked for still happens (callers retry idempotently).
func TestCallerGivingUpDoesNotCancelTheBatch(t *testing.T) {
	applied := make(chan int, 1)
	c := New(Options[int, int]{
		Batch: func(_ context.Context, reqs []int) ([]int, error) { return reqs, nil },
		Single: func(ctx context.Context, r int) (int, error) {
			time.Sleep(30 * time.Millisecond)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			applied <- r
			return r, nil
		},
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, 7); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the caller's deadline", err)
	}
	select {
	case r := <-applied:
		if r != 7 {
			t.Fatalf("applied %d", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the request was dropped when its caller gave up")
	}
}

// TestClose checks that Close refuses new requests.
func TestClose(t *testing.T) {
	c := New(Options[int, int]{
		Batch:  func(_ context.Context, reqs []int) ([]int, error) { return reqs, nil },
		Single: func(_ context.Context, r int) (int, error) { return r, nil },
	})
	if got, err := c.Do(context.Background(), 1); err != nil || got != 1 {
		t.Fatalf("got %d, %v", got, err)
	}
	c.Close()
	if _, err := c.Do(context.Background(), 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestShortBatchAnswerFailsWithoutReapplying: a Batch that committed but answered the
// wrong number of results is a bug; its requests fail instead of being applied again one
// by one (which would write them twice).
func TestShortBatchAnswerFailsWithoutReapplying(t *testing.T) {
	var singles atomic.Int32
	release := make(chan struct{})
	var first atomic.Bool
	c := New(Options[int, int]{
		Workers: 1,
		Batch:   func(_ context.Context, reqs []int) ([]int, error) { return reqs[:len(reqs)-1], nil },
		Single: func(_ context.Context, r int) (int, error) {
			if first.CompareAndSwap(false, true) {
				<-release // request 0 holds the worker while the others queue into one batch
				return r, nil
			}
			singles.Add(1)
			return r, nil
		},
	})
	defer c.Close()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Do(context.Background(), i)
		}()
		if i == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := 1; i < 4; i++ {
		if errs[i] == nil {
			t.Fatalf("request %d succeeded after a short batch answer", i)
		}
	}
	if n := singles.Load(); n != 0 {
		t.Fatalf("%d requests of the committed batch were applied again", n)
	}
}

// TestLoneBatch checks that with LoneBatch a lone request goes through Batch, and through
// Single only after Batch failed.
func TestLoneBatch(t *testing.T) {
	var batched, single atomic.Int32
	fail := atomic.Bool{}
	c := New(Options[int, int]{
		LoneBatch: true,
		Batch: func(_ context.Context, reqs []int) ([]int, error) {
			batched.Add(int32(len(reqs)))
			if fail.Load() {
				return nil, errors.New("refused")
			}
			return []int{reqs[0] + 1}, nil
		},
		Single: func(_ context.Context, r int) (int, error) {
			single.Add(1)
			return r + 2, nil
		},
	})
	defer c.Close()
	if got, err := c.Do(context.Background(), 1); err != nil || got != 2 {
		t.Fatalf("lone request: %d, %v; want 2 from Batch", got, err)
	}
	if batched.Load() != 1 || single.Load() != 0 {
		t.Fatalf("batched %d, single %d; want 1, 0", batched.Load(), single.Load())
	}
	fail.Store(true)
	if got, err := c.Do(context.Background(), 1); err != nil || got != 3 {
		t.Fatalf("lone request after a failed batch: %d, %v; want 3 from Single", got, err)
	}
	if batched.Load() != 2 || single.Load() != 1 {
		t.Fatalf("batched %d, single %d; want 2, 1", batched.Load(), single.Load())
	}
}
