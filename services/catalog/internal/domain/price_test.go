package domain

import "testing"

func TestParseMultiplier(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1", 1000, false},
		{"1.0", 1000, false},
		{"1.5", 1500, false},
		{"2.5", 2500, false},
		{"0.1", 100, false},
		{"10", 10000, false},
		{"1.005", 1005, false},
		{"1.80", 1800, false},
		{"1.25e0", 1250, false},
		{"15e-1", 1500, false},
		{"0.09", 0, true},
		{"10.001", 0, true},
		{"1.0005", 0, true},
		{"-1", 0, true},
		{"0", 0, true},
		{"abc", 0, true},
		{"", 0, true},
		{"3/2", 0, true},
		{"1e400", 0, true},
		{"1e99999999", 0, true},
		{"0.0000000000000000000000000000000000000000001", 0, true},
		{"1e-99999999", 0, true},
		{"100e-2", 1000, false},
		{"0.5e1", 5000, false},
	}
	for _, tc := range tests {
		got, err := ParseMultiplier(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseMultiplier(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSectionPriceRoundsHalfUp(t *testing.T) {
	tests := []struct {
		base, milli, want int64
	}{
		{150000, 2000, 300000},
		{80000, 1800, 144000},
		{1, 1500, 2},     // 1.5 → 2
		{1, 1499, 1},     // 1.499 → 1
		{3, 1500, 5},     // 4.5 → 5
		{101, 1005, 102}, // 101.505 → 102 (float maths gives 101.50499…)
		{999, 100, 100},  // 99.9 → 100
		{5, 100, 1},      // 0.5 → 1
		{4, 100, 0},      // 0.4 → 0
		{0, 10000, 0},
		{MaxBasePrice, 10000, MaxBasePrice * 10},
	}
	for _, tc := range tests {
		if got := SectionPrice(tc.base, tc.milli); got != tc.want {
			t.Errorf("SectionPrice(%d, %d) = %d, want %d", tc.base, tc.milli, got, tc.want)
		}
	}
}

func TestFormatMultiplier(t *testing.T) {
	for milli, want := range map[int64]string{1000: "1", 1500: "1.5", 1250: "1.25", 1005: "1.005", 100: "0.1", 10000: "10"} {
		if got := FormatMultiplier(milli); got != want {
			t.Errorf("FormatMultiplier(%d) = %q, want %q", milli, got, want)
		}
	}
}
