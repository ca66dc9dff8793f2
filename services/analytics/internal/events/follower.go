package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"evently.dev/libs/consumer"
	"evently.dev/libs/kafka"
	"evently.dev/libs/retry"

	"evently.dev/services/analytics/internal/domain"
	"evently.dev/services/analytics/internal/store"
)

// Follower keeps a serving replica consuming into the serving generation. It runs the
// foundation's consumer runner under that generation's group and, when a rebuild switches
// the generation, stops it and starts the new generation's group, which continues from
// where the rebuild left off.
type Follower struct {
	Store *store.Store
	Kafka kafka.Config
	// GroupBase is the logical group name before "-g<N>"; the runner adds the topic prefix.
	GroupBase string
	// Poll is how often the generation row is checked.
	Poll time.Duration
	Log  *slog.Logger
	// Consumer holds the environment's consumer settings (inbox retention).
	Consumer consumer.Config

	current atomic.Pointer[consumer.Runner]
}

// Check is the serving generation's runner's readiness check (consumer.Runner.Check);
// it passes while no runner is running (between generations, at start-up).
func (f *Follower) Check(ctx context.Context) error {
	if r := f.current.Load(); r != nil {
		return r.Check(ctx)
	}
	return nil
}

// Run follows the serving generation until ctx ends.
func (f *Follower) Run(ctx context.Context) error {
	for {
		g, err := f.Store.CurrentGeneration(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil //nolint:nilerr // ctx ended (shutdown): the read failed because of it, which is a clean stop
			}
			f.Log.WarnContext(ctx, "analytics: cannot read generation, retrying", "error", err)
			if !retry.Sleep(ctx, f.Poll) {
				return nil
			}
			continue
		}
		loc, err := domain.LoadZone(g.Timezone)
		if err != nil {
			return err
		}
		if g.Serving > 1 {
			if err := f.Store.DropBefore(ctx, g.Serving, f.group); err != nil {
				f.Log.WarnContext(ctx, "analytics: drop old generations", "error", err)
			}
		}
		switched, err := f.consume(ctx, g.Serving, loc)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // ctx ended (shutdown): a clean stop, whatever the consumer reported
		}
		if !switched {
			return err
		}
	}
}

func (f *Follower) group(gen int) string { return domain.GroupName(f.GroupBase, gen) }

// consume runs gen's consumer until the serving generation changes (true), ctx ends, or
// the runner fails (false with its error).
func (f *Follower) consume(ctx context.Context, gen int, loc *time.Location) (bool, error) {
	// Serialized: seats.sold and booking.confirmed of one show update the same aggregate
	// rows from two topics; concurrent batches deadlocked and each waited a second.
	r, err := consumer.New(f.Kafka, f.Store.DB(), f.Consumer.Apply(consumer.Options{Group: f.group(gen), Topics: Topics, Types: Types, Serialize: f.group(gen),
		Handler: Handler(store.Projector{Gen: gen, Loc: loc}, f.Log), Scope: Scope(gen), Logger: f.Log}))
	if err != nil {
		return false, err
	}
	f.current.Store(r)
	defer f.current.CompareAndSwap(r, nil)
	f.Log.InfoContext(ctx, "analytics: consuming", "generation", gen, "group", f.group(gen), "timezone", loc.String())
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(cctx) }()
	t := time.NewTicker(f.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done //nolint:errcheck // only waits for the runner to stop; it was cancelled with ctx, so its result says nothing new
			return false, nil
		case err := <-done:
			if err == nil {
				err = errors.New("consumer stopped")
			}
			return false, fmt.Errorf("analytics consumer generation %d: %w", gen, err)
		case <-t.C:
			g, err := f.Store.CurrentGeneration(ctx)
			if err != nil || g.Serving == gen {
				continue
			}
			f.Log.InfoContext(ctx, "analytics: generation switched", "from", gen, "to", g.Serving)
			cancel()
			<-done //nolint:errcheck // only waits for the old generation's runner to stop; we cancelled it on purpose
			return true, nil
		}
	}
}
