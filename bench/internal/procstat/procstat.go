// Package procstat samples CPU time and memory of the processes that share the machine
// during a bench run — each service of the copy, PostgreSQL (all backends), Kafka, Redis,
// the mail catcher and the load generator itself — straight from /proc, so a figure can be
// read against what it cost.
package procstat

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat: 100 on every Linux
// architecture Go builds for here.
const clockTicks = 100

// WholeMachine is the pseudo-group of every process on the machine (from /proc/stat): the
// gap between it and the groups shows CPU spent outside the run, e.g. other builds.
const WholeMachine = "whole machine"

// Sample is one point of the series: CPU in cores (1.0 = one core busy) and memory in MiB
// per group, over the interval that ended at T seconds after the sampler started.
type Sample struct {
	T   float64            `json:"t"`
	CPU map[string]float64 `json:"cpu_cores"`
	Mem map[string]float64 `json:"mem_mib"`
	// MachineBusy is the whole machine's busy share of all cores (0–1) from /proc/stat.
	MachineBusy float64 `json:"machine_busy"`
}

// Phase names a stretch of the run, so summaries can be cut per scenario.
type Phase struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Sampler polls /proc at a fixed interval until stopped.
type Sampler struct {
	interval time.Duration
	started  time.Time
	stop     chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	pids    map[string][]int // fixed groups: name → pids (services, the bench, a proxy)
	samples []Sample
	phases  []Phase
	prev    map[int]uint64 // pid → utime+stime ticks at the previous sample
	kind    map[int]string // pid → group for processes found by name
	prevSys [2]uint64      // busy, total jiffies of /proc/stat
	// pss caches each PostgreSQL process's proportional set for pssEvery: reading it walks
	// the process's page tables (its shared buffers included), and doing that for every
	// backend each second cost about 1 % of the machine during a sale, charged to the
	// load generator.
	pss map[int]pssReading
}

// pssEvery is how long a PostgreSQL process's PSS reading is reused.
const pssEvery = 5 * time.Second

type pssReading struct {
	at  time.Time
	mib float64
}

// New returns a sampler; Start begins sampling.
func New(interval time.Duration) *Sampler {
	return &Sampler{interval: interval, pids: map[string][]int{}, prev: map[int]uint64{}, kind: map[int]string{},
		pss: map[int]pssReading{}}
}

// Track adds (or replaces) a named group of process ids, e.g. a service of the copy.
func (s *Sampler) Track(group string, pids ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids[group] = pids
}

// Untrack removes a group (a process that ended).
func (s *Sampler) Untrack(group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pids, group)
}

// Start samples in the background until Stop; a second call does nothing.
func (s *Sampler) Start() {
	if s.stop != nil {
		return
	}
	s.started = time.Now()
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.sample() // baseline for the first interval
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
}

// Stop ends sampling and returns the series (the baseline point dropped).
func (s *Sampler) Stop() []Sample {
	if s.stop == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) <= 1 {
		return nil
	}
	return append([]Sample(nil), s.samples[1:]...)
}

// Now is the sampler's clock: seconds since Start.
func (s *Sampler) Now() float64 { return time.Since(s.started).Seconds() }

// Begin opens a phase; End closes the latest phase of that name. Both take a sample when
// the sampler runs, so a phase shorter than the interval (a one-second sale) still has its
// own figures, and a longer one is measured from its start to its end exactly.
func (s *Sampler) Begin(name string) {
	s.boundary()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phases = append(s.phases, Phase{Name: name, Start: s.Now(), End: -1})
}

// End closes the open phase called name.
func (s *Sampler) End(name string) {
	s.boundary()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.phases) - 1; i >= 0; i-- {
		if s.phases[i].Name == name && s.phases[i].End < 0 {
			s.phases[i].End = s.Now()
			return
		}
	}
}

// Phases returns the phases recorded so far.
func (s *Sampler) Phases() []Phase {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Phase(nil), s.phases...)
}

// Usage is one group's cost over a phase.
type Usage struct {
	Group string `json:"group"`
	// CPUCores is the mean number of cores the group kept busy; CPUSeconds the total.
	CPUCores   float64 `json:"cpu_cores"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// MaxMemMiB is the largest sampled memory (RSS; PSS summed for PostgreSQL).
	MaxMemMiB float64 `json:"max_mem_mib"`
}

// Summarize adds up samples whose interval ended inside [from, to].
func Summarize(samples []Sample, from, to float64) []Usage {
	acc := map[string]*Usage{}
	var dur float64
	prevT := from
	for _, sm := range samples {
		if sm.T < from || sm.T > to {
			continue
		}
		dt := sm.T - prevT
		prevT = sm.T
		dur += dt
		for g, c := range sm.CPU {
			u := acc[g]
			if u == nil {
				u = &Usage{Group: g}
				acc[g] = u
			}
			u.CPUSeconds += c * dt
		}
		for g, m := range sm.Mem {
			u := acc[g]
			if u == nil {
				u = &Usage{Group: g}
				acc[g] = u
			}
			u.MaxMemMiB = max(u.MaxMemMiB, m)
		}
	}
	out := make([]Usage, 0, len(acc))
	for _, u := range acc {
		if dur > 0 {
			u.CPUCores = u.CPUSeconds / dur
		}
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CPUSeconds > out[j].CPUSeconds })
	return out
}

// minBoundaryGap is the youngest a previous sample may be for a phase boundary to take
// its own: CPU time comes in 10 ms ticks, so a shorter interval would chart as a spike.
const minBoundaryGap = 0.1

// boundary samples now if the sampler is running (Start called, Stop not yet) and the
// last sample is not too recent.
func (s *Sampler) boundary() {
	if s.stop == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.mu.Lock()
	recent := len(s.samples) > 0 && s.Now()-s.samples[len(s.samples)-1].T < minBoundaryGap
	s.mu.Unlock()
	if !recent {
		s.sample()
	}
}

func (s *Sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	dt := s.interval.Seconds()
	if n := len(s.samples); n > 0 {
		dt = now - s.samples[n-1].T
	}
	groups := map[int]string{}
	for g, pids := range s.pids {
		for _, p := range pids {
			groups[p] = g
		}
	}
	s.findShared(groups)
	sm := Sample{T: now, CPU: map[string]float64{}, Mem: map[string]float64{}}
	seen := map[int]uint64{}
	for pid, g := range groups {
		ticks, ok := cpuTicks(pid)
		if !ok {
			continue
		}
		seen[pid] = ticks
		if before, had := s.prev[pid]; had && ticks >= before {
			sm.CPU[g] += float64(ticks-before) / clockTicks / dt
		} else if !had && len(s.samples) > 0 {
			// A process born during the interval (a new PostgreSQL backend): all its time is new.
			sm.CPU[g] += float64(ticks) / clockTicks / dt
		}
		sm.Mem[g] += s.memory(pid, g == "postgres")
	}
	for pid := range s.pss {
		if _, ok := seen[pid]; !ok {
			delete(s.pss, pid)
		}
	}
	s.prev = seen
	busy, total := systemJiffies()
	if total > s.prevSys[1] && s.prevSys[1] > 0 {
		sm.MachineBusy = float64(busy-s.prevSys[0]) / float64(total-s.prevSys[1])
		sm.CPU[WholeMachine] = sm.MachineBusy * float64(runtime.NumCPU())
	}
	s.prevSys = [2]uint64{busy, total}
	s.samples = append(s.samples, sm)
}

// findShared classifies the shared servers' processes by name: they were not started by
// the bench, so their pids are found in /proc.
func (s *Sampler) findShared(groups map[int]string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, fixed := groups[pid]; fixed {
			continue
		}
		g, known := s.kind[pid]
		if !known {
			g = classify(pid)
			s.kind[pid] = g
		}
		if g != "" {
			groups[pid] = g
		}
	}
}

func classify(pid int) string {
	comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	switch name := strings.TrimSpace(string(comm)); name {
	case "postgres", "mailpit", "pgbench", "redis-benchmark":
		return name
	case "redis-server":
		return "redis"
	case "java":
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if bytes.Contains(cmd, []byte("kafka.Kafka")) {
			return "kafka"
		}
	}
	return ""
}

// cpuTicks reads utime+stime of a process (fields 14 and 15 of /proc/<pid>/stat).
func cpuTicks(pid int) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// The command name may contain spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + st, true
}

// memory is memMiB, with proportional readings reused for pssEvery. Callers hold s.mu.
func (s *Sampler) memory(pid int, proportional bool) float64 {
	if !proportional {
		return memMiB(pid, false)
	}
	if r, ok := s.pss[pid]; ok && time.Since(r.at) < pssEvery {
		return r.mib
	}
	m := memMiB(pid, true)
	s.pss[pid] = pssReading{at: time.Now(), mib: m}
	return m
}

// memMiB is the resident set of a process, or its proportional share (PSS) when the
// process shares most of its memory with siblings (PostgreSQL's shared buffers), so that
// summing a group's processes does not count shared pages many times.
func memMiB(pid int, proportional bool) float64 {
	if proportional {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "Pss:") {
					f := strings.Fields(line)
					if len(f) >= 2 {
						kb, _ := strconv.ParseFloat(f[1], 64)
						return kb / 1024
					}
				}
			}
		}
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "statm"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / (1 << 20)
}

// systemJiffies returns busy and total jiffies of all cores from /proc/stat's first line.
func systemJiffies() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest time is already inside user time
			break
		}
		total += n
		if i != 3 && i != 4 { // idle and iowait
			busy += n
		}
	}
	return busy, total
}
