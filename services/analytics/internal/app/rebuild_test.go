package app

import "testing"

func TestLag(t *testing.T) {
	ends := Offsets{
		"a": {0: {Oldest: 0, End: 10}, 1: {Oldest: 5, End: 5}, 2: {Oldest: 3, End: 9}},
		"b": {0: {Oldest: 0, End: 0}},
	}
	tests := []struct {
		name      string
		committed map[string]map[int32]int64
		want      int64
	}{
		{"nothing committed: everything from the oldest kept offset", nil, 10 + 6},
		{"-1 means nothing committed", map[string]map[int32]int64{"a": {0: -1, 2: -1}}, 16},
		{"partly consumed", map[string]map[int32]int64{"a": {0: 7, 2: 9}}, 3},
		{"caught up", map[string]map[int32]int64{"a": {0: 10, 2: 9}}, 0},
		{"past the noted ends (new messages since) is caught up", map[string]map[int32]int64{"a": {0: 12, 2: 11}}, 0},
		{"committed below the retention start counts from the start", map[string]map[int32]int64{"a": {0: 10, 2: 1}}, 6},
	}
	for _, tt := range tests {
		if got := Lag(ends, tt.committed); got != tt.want {
			t.Errorf("%s: lag %d, want %d", tt.name, got, tt.want)
		}
	}
}
