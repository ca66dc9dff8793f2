// Package groupcommit coalesces concurrent writes into one transaction: callers hand a
// request to a Committer and wait; a few workers take whatever requests are queued and
// apply them together, so one commit (one WAL flush) serves many callers. Under light load
// a lone request is applied at once, alone; under an on-sale rush batches grow by
// themselves while the previous one is being flushed, with no timer to tune.
//
// Each request stays all-or-nothing: when the batch function fails, nothing of the batch
// was written (it runs in one transaction the caller's function owns), and every request of
// the batch is retried alone with the single function, which gives each caller its own
// precise answer (a conflict for one buyer never fails another's purchase).
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrClosed is returned for requests submitted after Close.
var ErrClosed = errors.New("groupcommit: closed")

// Options configures a Committer. Zero values select the defaults in brackets.
type Options[Req, Res any] struct {
	// Batch applies many requests in one transaction and returns one result per request,
	// in order. An error means nothing was written; the requests are then retried one by
	// one with Single.
	Batch func(ctx context.Context, reqs []Req) ([]Res, error)
	// Single applies one request in a transaction of its own: the fallback after a failed
	// batch, and the path of a batch of one unless LoneBatch is set.
	Single func(ctx context.Context, req Req) (Res, error)
	// LoneBatch sends a batch of one through Batch as well, and to Single only when that
	// fails: for a Batch that costs fewer round trips than Single, Single being the path
	// that gives precise answers.
	LoneBatch bool
	// MaxBatch bounds how many requests one transaction carries [128].
	MaxBatch int
	// Workers is how many batches may be in flight at once [2]: while one waits for its
	// commit to flush, the next one is being built and sent.
	Workers int
	// OnBatch, when set, observes each batch's size and whether it fell back to singles.
	OnBatch func(size int, fellBack bool)
}

type call[Req, Res any] struct {
	ctx  context.Context
	req  Req
	done chan result[Res]
}

type result[Res any] struct {
	res Res
	err error
}

// Committer runs the coalescing workers; it is safe for concurrent use.
type Committer[Req, Res any] struct {
	opts  Options[Req, Res]
	queue chan call[Req, Res]
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// New starts a Committer's workers; Close stops them.
func New[Req, Res any](opts Options[Req, Res]) *Committer[Req, Res] {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 128
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	c := &Committer[Req, Res]{opts: opts, queue: make(chan call[Req, Res], opts.MaxBatch*opts.Workers*4),
		stop: make(chan struct{})}
	for range opts.Workers {
		c.wg.Add(1)
		go c.work()
	}
	return c
}

// Do submits req and waits for its result. If ctx ends first, Do returns ctx's error, but
// the request may still be applied: callers make their writes idempotent so that a retry
// finds what was written.
func (c *Committer[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	var zero Res
	cl := call[Req, Res]{ctx: ctx, req: req, done: make(chan result[Res], 1)}
	select {
	case <-c.stop:
		return zero, ErrClosed
	default:
	}
	select {
	case c.queue <- cl:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-c.stop:
		return zero, ErrClosed
	}
	select {
	case r := <-cl.done:
		return r.res, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close stops taking requests, finishes the queued ones and waits for the workers.
func (c *Committer[Req, Res]) Close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

func (c *Committer[Req, Res]) work() {
	defer c.wg.Done()
	batch := make([]call[Req, Res], 0, c.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case cl := <-c.queue:
			batch = append(batch, cl)
		case <-c.stop:
			// Drain what was queued before Close so no waiting caller is stranded.
			for {
				select {
				case cl := <-c.queue:
					c.apply([]call[Req, Res]{cl})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < c.opts.MaxBatch {
			select {
			case cl := <-c.queue:
				batch = append(batch, cl)
			default:
				break fill
			}
		}
		c.apply(batch)
	}
}

// apply runs one batch, falling back to singles when the batch fails. The batch runs
// detached from any one caller's context: a caller that gave up must not roll back the
// purchases of the others.
func (c *Committer[Req, Res]) apply(batch []call[Req, Res]) {
	ctx := context.WithoutCancel(batch[0].ctx)
	if len(batch) > 1 || c.opts.LoneBatch {
		reqs := make([]Req, len(batch))
		for i, cl := range batch {
			reqs[i] = cl.req
		}
		res, err := c.opts.Batch(ctx, reqs)
		if err == nil && len(res) != len(batch) {
			// The batch committed but cannot say which answer is whose: a bug of Batch.
			// Running the requests again would apply them twice, so every caller fails.
			err = fmt.Errorf("groupcommit: batch of %d answered %d results", len(batch), len(res))
			for _, cl := range batch {
				cl.done <- result[Res]{err: err}
			}
			c.observe(len(batch), true)
			return
		}
		if err == nil {
			for i, cl := range batch {
				cl.done <- result[Res]{res: res[i]}
			}
			c.observe(len(batch), false)
			return
		}
		c.observe(len(batch), true)
	} else {
		c.observe(1, false)
	}
	for _, cl := range batch {
		r, err := c.opts.Single(context.WithoutCancel(cl.ctx), cl.req)
		cl.done <- result[Res]{res: r, err: err}
	}
}

func (c *Committer[Req, Res]) observe(size int, fellBack bool) {
	if c.opts.OnBatch != nil {
		c.opts.OnBatch(size, fellBack)
	}
}
