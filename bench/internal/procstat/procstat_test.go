package procstat

import (
	"os"
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
// measured from its boundary samples: the busy loop's CPU lands in it.
func TestShortPhaseHasItsOwnFigures(t *testing.T) {
	s := New(10 * time.Second)
	s.Track("self", os.Getpid())
	s.Start()
	time.Sleep(150 * time.Millisecond)
	s.Begin("short")
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	s.End("short")
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
	if self.CPUSeconds < 0.1 || self.CPUSeconds > 0.6 {
		t.Fatalf("short phase: %+v (want about 0.3 CPU s of the busy loop)", self)
	}
}
