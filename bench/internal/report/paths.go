package report

import (
	"path/filepath"
	"slices"
	"strings"
)

// ShownPath is p as a report names it: relative to the repository root when inside it,
// otherwise only its last element.
func ShownPath(root, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Base(p)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.Base(abs)
	}
	return rel
}

// WithOut returns args with the value of -out (in any of the forms flag accepts) replaced
// by shown.
func WithOut(args []string, shown string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(out[i], "-"), "=")
		if !strings.HasPrefix(out[i], "-") || name != "out" {
			continue
		}
		if hasValue {
			out[i] = out[i][:strings.Index(out[i], "=")+1] + shown
		} else if i+1 < len(out) {
			out[i+1] = shown
			i++
		}
	}
	return out
}
