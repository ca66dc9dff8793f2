package load

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"evently.dev/bench/internal/client"
)

// Path is one read of the browse mix.
type Path struct {
	Name string
	Path string
}

// Browse is a closed loop of GETs: Clients goroutines each walk the paths in turn until
// Duration has passed or MaxRequests were sent in total.
type Browse struct {
	Paths       []Path
	Clients     int
	Duration    time.Duration
	MaxRequests int
	// Token is sent as a bearer token (the JWT check is part of what is measured).
	Token string
	// Gzip asks for a compressed answer; the result counts how many came compressed.
	Gzip bool
}

// PathResult is one path's figures.
type PathResult struct {
	Requests  int            `json:"requests"`
	PerSec    float64        `json:"req_per_s"`
	Latency   Latency        `json:"latency"`
	Outcomes  map[string]int `json:"outcomes"`
	Gzipped   int            `json:"gzipped"`
	MeanBytes float64        `json:"mean_bytes_on_wire"`
}

// BrowseResult holds every path's figures and the total rate.
type BrowseResult struct {
	Seconds float64               `json:"seconds"`
	PerSec  float64               `json:"req_per_s"`
	Paths   map[string]PathResult `json:"paths"`
}

// Run sends the reads and returns their figures.
func (b Browse) Run(ctx context.Context, c *client.Client) BrowseResult {
	ctx, cancel := context.WithTimeout(ctx, b.Duration)
	defer cancel()
	rec := NewRecorder()
	var sent atomic.Int64
	var mu sync.Mutex
	gz := map[string]int{}
	bytes := map[string]int64{}
	headers := []string{}
	if b.Gzip {
		headers = append(headers, "Accept-Encoding", "gzip")
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range b.Clients {
		wg.Go(func() {
			for i := w; ; i++ {
				if ctx.Err() != nil || sent.Add(1) > int64(b.MaxRequests) {
					return
				}
				p := b.Paths[i%len(b.Paths)]
				t0 := time.Now()
				r, n, err := c.Read(ctx, p.Path, b.Token, headers...)
				if ctx.Err() != nil {
					return
				}
				rec.Add(p.Name, time.Since(t0), err == nil && r.Status == http.StatusOK, outcome(r.Status, r.Body, err))
				mu.Lock()
				if r.Header.Get("Content-Encoding") == "gzip" {
					gz[p.Name]++
				}
				bytes[p.Name] += n
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	res := BrowseResult{Seconds: secs, Paths: map[string]PathResult{}}
	total := 0
	for _, p := range b.Paths {
		out := rec.Outcomes(p.Name)
		n := 0
		for _, v := range out {
			n += v
		}
		total += n
		pr := PathResult{Requests: n, PerSec: float64(n) / secs, Latency: rec.Stats(p.Name), Outcomes: out, Gzipped: gz[p.Name]}
		if n > 0 {
			pr.MeanBytes = float64(bytes[p.Name]) / float64(n)
		}
		res.Paths[p.Name] = pr
	}
	res.PerSec = float64(total) / secs
	return res
}
