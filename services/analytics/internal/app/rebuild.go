package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"evently.dev/libs/retry"
)

// Range is a partition's retained offsets: Oldest is the first kept, End the next to come.
type Range struct{ Oldest, End int64 }

// Offsets are ranges per physical topic and partition.
type Offsets map[string]map[int32]Range

// Lag counts the messages between each partition's committed offset (absent or negative:
// nothing committed, so from Oldest) and its End.
func Lag(ends Offsets, committed map[string]map[int32]int64) int64 {
	var lag int64
	for topic, parts := range ends {
		for p, r := range parts {
			pos := r.Oldest
			if c, ok := committed[topic][p]; ok && c > pos {
				pos = c
			}
			if r.End > pos {
				lag += r.End - pos
			}
		}
	}
	return lag
}

// Generations is the generation row's lifecycle.
type Generations interface {
	StartBuild(ctx context.Context, tz string) (int, error)
	SwitchTo(ctx context.Context, gen int) error
	AbandonBuild(ctx context.Context, gen int) error
	DropBefore(ctx context.Context, serving int, groupOf func(int) string) error
}

// Replayer consumes the topics from the beginning into one generation.
type Replayer interface {
	EndOffsets(ctx context.Context) (Offsets, error)
	Start(ctx context.Context, gen int, tz string) (stop func() error, err error)
	Lag(ctx context.Context, gen int, ends Offsets) (int64, error)
	Group(gen int) string
}

// RebuildReadModels replays every topic into a fresh generation beside the serving one
// and switches over atomically once it has caught up with the end offsets noted at
// start. Serving replicas keep answering (from the old generation) and keep consuming
// meanwhile; after the switch they move to the new generation's group, which continues
// where the rebuild stopped, so nothing is lost or applied twice.
type RebuildReadModels struct {
	Generations Generations
	Replayer    Replayer
	Log         *slog.Logger
	// Timezone is the reporting zone the new generation is cut in.
	Timezone string
	// Timeout bounds the catch-up.
	Timeout time.Duration
	// Poll is how often catch-up progress is checked [500ms].
	Poll time.Duration
	// Grace is how long to wait after switching before dropping the old generation, so
	// serving replicas have noticed the switch and stopped filling it.
	Grace time.Duration
}

// Run rebuilds and reports the new serving generation.
func (r *RebuildReadModels) Run(ctx context.Context) (gen int, err error) {
	poll := r.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	ends, err := r.Replayer.EndOffsets(ctx)
	if err != nil {
		return 0, err
	}
	gen, err = r.Generations.StartBuild(ctx, r.Timezone)
	if err != nil {
		return 0, err
	}
	r.Log.InfoContext(ctx, "rebuild: replaying every topic", "generation", gen, "group", r.Replayer.Group(gen),
		"timezone", r.Timezone)
	stop, err := r.Replayer.Start(ctx, gen, r.Timezone)
	if err != nil {
		return 0, errors.Join(err, r.Generations.AbandonBuild(context.WithoutCancel(ctx), gen))
	}
	cctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	caughtUp := r.waitCaughtUp(cctx, gen, ends, poll)
	stopErr := stop()
	if caughtUp != nil || stopErr != nil {
		return 0, errors.Join(caughtUp, stopErr, r.Generations.AbandonBuild(context.WithoutCancel(ctx), gen))
	}
	if err := r.Generations.SwitchTo(ctx, gen); err != nil {
		return 0, err
	}
	r.Log.InfoContext(ctx, "rebuild: switched", "generation", gen)
	if !retry.Sleep(ctx, r.Grace) {
		return gen, nil // the old rows go when a serving replica next starts or switches
	}
	return gen, r.Generations.DropBefore(ctx, gen, r.Replayer.Group)
}

func (r *RebuildReadModels) waitCaughtUp(ctx context.Context, gen int, ends Offsets, poll time.Duration) error {
	last := time.Now()
	for {
		lag, err := r.Replayer.Lag(ctx, gen, ends)
		if err == nil && lag == 0 {
			return nil
		}
		if err != nil {
			r.Log.WarnContext(ctx, "rebuild: reading progress", "error", err)
		} else if time.Since(last) > 5*time.Second {
			r.Log.InfoContext(ctx, "rebuild: catching up", "generation", gen, "messages_left", lag)
			last = time.Now()
		}
		if !retry.Sleep(ctx, poll) {
			return fmt.Errorf("rebuild generation %d: not caught up: %w", gen, ctx.Err())
		}
	}
}
