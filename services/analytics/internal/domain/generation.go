package domain

import "fmt"

// Generation is which build of the read models serves queries. A rebuild fills the next
// generation from the beginning of every topic under its own consumer group, then
// switches; the old generation's rows are dropped after.
type Generation struct {
	// Serving answers queries; Timezone is the reporting zone its buckets were cut in.
	Serving  int
	Timezone string
	// Building is the generation a rebuild is filling, 0 when none.
	Building int
}

// GroupName is the consumer group that fills generation gen: base + "-g" + gen.
func GroupName(base string, gen int) string { return fmt.Sprintf("%s-g%d", base, gen) }
