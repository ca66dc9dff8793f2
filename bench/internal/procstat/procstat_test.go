package procstat

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	samples := []Sample{
		{T: 1, CPU: map[string]float64{"a": 1}, Mem: map[string]float64{"a": 10}},
		{T: 2, CPU: map[string]float64{"a": 0.5}, Mem: map[string]float64{"a": 30}},
		{T: 3, CPU: map[string]float64{"a": 0}, Mem: map[string]float64{"a": 20}},
		{T: 9, CPU: map[string]float64{"a": 2}, Mem: map[string]float64{"a": 99}},
	}
	u := Summarize(samples, 0, 3)
	if len(u) != 1 || u[0].CPUSeconds != 1.5 || u[0].CPUCores != 0.5 || u[0].MaxMemMiB != 30 {
		t.Fatalf("got %+v", u)
	}
}

// TestSamplerSeesItsOwnProcess burns CPU in this process and expects the sampler to see it.
func TestSamplerSeesItsOwnProcess(t *testing.T) {
	s := New(100 * time.Millisecond)
	s.Track("self", os.Getpid())
	s.Start()
	s.Begin("burn")
	for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); {
	}
	s.End("burn")
	time.Sleep(250 * time.Millisecond) // one more sample after the loop
	samples := s.Stop()
	u := Summarize(samples, 0, 1e9)
	var self Usage
	for _, x := range u {
		if x.Group == "self" {
			self = x
		}
	}
	if self.CPUSeconds < 0.02 || self.MaxMemMiB <= 0 {
		t.Fatalf("sampler missed the busy loop: %+v", u)
	}
}

// TestShortPhaseHasItsOwnFigures checks that a phase much shorter than the interval is
// measured from its boundary samples: the CPU this process spent in it lands in it. The
// loop runs until the process has used 0.3 CPU s, however busy the machine is.
func TestShortPhaseHasItsOwnFigures(t *testing.T) {
	s := New(10 * time.Second)
	s.Track("self", os.Getpid())
	s.Start()
	time.Sleep(150 * time.Millisecond)
	before := selfCPU(t)
	s.Begin("short")
	for deadline := time.Now().Add(10 * time.Second); selfCPU(t)-before < 0.3 && time.Now().Before(deadline); {
	}
	s.End("short")
	used := selfCPU(t) - before
	samples := s.Stop()
	ph := s.Phases()
	if len(ph) != 1 {
		t.Fatalf("phases %+v", ph)
	}
	var self Usage
	for _, x := range Summarize(samples, ph[0].Start, ph[0].End) {
		if x.Group == "self" {
			self = x
		}
	}
	// /proc counts in 10 ms ticks; the boundary samples sit just outside the loop.
	if self.CPUSeconds < used-0.05 || self.CPUSeconds > used+0.05 {
		t.Fatalf("short phase: %+v, the process used %.3f CPU s in it", self, used)
	}
}

// selfCPU is this process's user and system CPU time so far, in seconds.
func selfCPU(t *testing.T) float64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
