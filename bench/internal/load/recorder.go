// Package load runs the bench's scenarios against a gateway: the flash sale (hold +
// confirm until sold out, optionally paced) and the browse mix of public reads. Every
// loop is bounded by a count and a deadline, so a run always stops by itself.
package load

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Recorder collects latencies and outcomes per operation; safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	ok       map[string][]time.Duration
	outcomes map[string]map[string]int
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{ok: map[string][]time.Duration{}, outcomes: map[string]map[string]int{}}
}

// Add records one request of op: its latency counts only when it succeeded; outcome is
// "201", "409 seats_unavailable", "error" and the like.
func (r *Recorder) Add(op string, d time.Duration, success bool, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if success {
		r.ok[op] = append(r.ok[op], d)
	}
	m := r.outcomes[op]
	if m == nil {
		m = map[string]int{}
		r.outcomes[op] = m
	}
	m[outcome]++
}

// Stats summarises op's successful latencies.
func (r *Recorder) Stats(op string) Latency {
	r.mu.Lock()
	d := slices.Clone(r.ok[op])
	r.mu.Unlock()
	return Summarize(d)
}

// Outcomes returns op's outcome counts.
func (r *Recorder) Outcomes(op string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.outcomes[op] {
		out[k] = v
	}
	return out
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Summarize sorts d and reads its percentiles (nearest rank).
func Summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Latency{Count: len(d), P50: ms(pct(d, 50)), P95: ms(pct(d, 95)), P99: ms(pct(d, 99)),
		Max: ms(d[len(d)-1]), Mean: ms(sum / time.Duration(len(d)))}
}

// pct is the nearest-rank percentile of sorted d.
func pct(d []time.Duration, p float64) time.Duration {
	i := int(float64(len(d))*p/100+0.999999) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// outcome names a response for the error table: the status, and for problem answers the
// problem's code, so expected contention (409 seats_unavailable) is told apart from faults.
func outcome(status int, body []byte, err error) string {
	if err != nil {
		return "transport error"
	}
	if status < 300 {
		return fmt.Sprint(status)
	}
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &p) == nil && p.Code != "" {
		return fmt.Sprintf("%d %s", status, p.Code)
	}
	return fmt.Sprint(status)
}
