package report

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestReportsNameTheResultsFolderAsTheRepositorySeesIt: a committed report must not carry
// where the results folder sat on the machine that wrote it.
func TestReportsNameTheResultsFolderAsTheRepositorySeesIt(t *testing.T) {
	root := t.TempDir()
	inside := filepath.Join(root, "bench", "results", "x")
	outside := filepath.Join(t.TempDir(), "scratch", "run-1")
	if got := ShownPath(root, inside); got != filepath.Join("bench", "results", "x") {
		t.Fatalf("inside the repository: %q", got)
	}
	if got := ShownPath(root, outside); got != "run-1" {
		t.Fatalf("outside the repository: %q", got)
	}
	for _, c := range []struct{ in, want []string }{
		{[]string{"-smoke", "-out", outside, "-seats", "200"}, []string{"-smoke", "-out", "run-1", "-seats", "200"}},
		{[]string{"--out=" + outside}, []string{"--out=run-1"}},
		{[]string{"-seats", "200"}, []string{"-seats", "200"}},
	} {
		if got := WithOut(c.in, ShownPath(root, outside)); !reflect.DeepEqual(got, c.want) {
			t.Fatalf("WithOut(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
