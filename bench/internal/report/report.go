// Package report turns a bench run into its outputs: a table on the terminal, report.md,
// report.json and SVG charts in bench/results/<UTC date>/.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"evently.dev/bench/internal/baseline"
	"evently.dev/bench/internal/check"
	"evently.dev/bench/internal/load"
	"evently.dev/bench/internal/procstat"
)

// Report is everything one run measured; report.json is this struct.
type Report struct {
	StartedAt string            `json:"started_at"`
	Mode      string            `json:"mode"`
	Command   string            `json:"command"`
	Machine   Machine           `json:"machine"`
	Flags     map[string]string `json:"flags"`
	// Settings are the private copy's non-default settings (the relaxed rate limits).
	Settings map[string]string `json:"settings"`

	Flash    *Sale                   `json:"flash_sale,omitempty"`
	HalfRate *Sale                   `json:"half_rate_sale,omitempty"`
	Browse   *Browse                 `json:"browse,omitempty"`
	Size     *Size                   `json:"size,omitempty"`
	Pgbench  *baseline.PgbenchResult `json:"pgbench,omitempty"`
	Redis    *baseline.RedisResult   `json:"redis_benchmark,omitempty"`

	Ratios  []Ratio  `json:"ratios"`
	Targets []Target `json:"targets"`
	// Usage is CPU and memory per process group for each phase.
	Usage   map[string][]procstat.Usage `json:"usage"`
	Phases  []procstat.Phase            `json:"phases"`
	Samples []procstat.Sample           `json:"samples"`
	// Errors lists scenario steps that failed; the run goes on and reports them.
	Errors []string `json:"errors"`
}

// Machine describes where the run happened.
type Machine struct {
	Cores     int    `json:"cores"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel"`
}

// Sale is a sale scenario: its set-up and what it measured.
type Sale struct {
	EventID string `json:"event_id"`
	// Capacity is the event's size; Seats the number of seats the sale set out to sell.
	Capacity int             `json:"capacity"`
	Seats    int             `json:"seats"`
	Buyers   int             `json:"buyers"`
	Clients  int             `json:"clients"`
	Explicit float64         `json:"explicit_share"`
	Rate     float64         `json:"rate_bookings_per_s,omitempty"`
	Result   load.SaleResult `json:"result"`
	// WALBytes is the write-ahead log the whole copy wrote during the sale.
	WALBytes int64         `json:"wal_bytes"`
	Check    *check.Result `json:"check,omitempty"`
}

// Browse holds the read scenarios: the mix through the gateway (gzip asked) and the
// event + availability reads through the gateway and through the bare proxy.
type Browse struct {
	Mix          load.BrowseResult  `json:"gateway_mix"`
	GatewayReads load.BrowseResult  `json:"gateway_reads"`
	ProxyReads   *load.BrowseResult `json:"proxy_reads,omitempty"`
}

// Size compares a small and a large event over rounds: each round sells the same number
// of seats on a fresh small and a fresh large event, in alternating order. One sale of
// 1,000 seats lasts about a second, so a single pair moved by 20–30 % between runs of the
// same code; the verdict is read from all rounds together.
type Size struct {
	Rounds []SizeRound `json:"rounds"`
	// SmallPerSec and LargePerSec are the seats sold in all rounds over the time those
	// sales took.
	SmallPerSec float64 `json:"small_seats_per_s"`
	LargePerSec float64 `json:"large_seats_per_s"`
	// LargeReads are the first large event's availability and seat map reads.
	LargeReads load.BrowseResult `json:"large_reads"`
}

// SizeRound is one small and one large sale.
type SizeRound struct {
	Small Sale `json:"small"`
	Large Sale `json:"large"`
}

// Totals sets SmallPerSec and LargePerSec from the rounds.
func (s *Size) Totals() {
	var seats [2]int
	var secs [2]float64
	for _, r := range s.Rounds {
		for i, sale := range []Sale{r.Small, r.Large} {
			seats[i] += sale.Result.SeatsSold
			secs[i] += sale.Result.Seconds
		}
	}
	if secs[0] > 0 {
		s.SmallPerSec = float64(seats[0]) / secs[0]
	}
	if secs[1] > 0 {
		s.LargePerSec = float64(seats[1]) / secs[1]
	}
}

// SizePhase names the phase of a size sale: the first round keeps the plain name.
func SizePhase(round int, large bool) string {
	name := "size: small event"
	if large {
		name = "size: large event"
	}
	if round > 0 {
		name += fmt.Sprintf(", round %d", round+1)
	}
	return name
}

// Ratio is a figure read against a ceiling of the same run.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Detail string  `json:"detail"`
}

// Target is one of issue 11's goals with what this run achieved.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

// Write stores report.json, report.md and the charts in dir.
func (r *Report) Write(dir string) error {
	// Results are meant to be read (and committed), so they are world-readable.
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // G301: see above
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), b, 0o644); err != nil { //nolint:gosec // G306: results are public
		return err
	}
	for name, svg := range r.Charts() {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil { //nolint:gosec // G306: results are public
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644) //nolint:gosec // G306: results are public
}

// Charts renders the SVG charts by file name.
func (r *Report) Charts() map[string]string {
	out := map[string]string{}
	var sold []Series
	for _, s := range []struct {
		name string
		sale *Sale
	}{{"flash sale (full speed)", r.Flash}, {"half rate", r.HalfRate}, {"size: small event", sizeSale(r.Size, false)},
		{"size: large event", sizeSale(r.Size, true)}} {
		if s.sale == nil || len(s.sale.Result.Timeline) == 0 {
			continue
		}
		sold = append(sold, rate(s.name, s.sale.Result.Timeline))
	}
	out["sold-per-second.svg"] = LineChart("Sold seats per second (from the start of each sale)", "seconds", "seats/s", sold, nil)

	var groups []BarGroup
	for _, s := range []struct {
		name string
		sale *Sale
	}{{"full speed", r.Flash}, {"half rate", r.HalfRate}} {
		if s.sale == nil {
			continue
		}
		h, c := s.sale.Result.Hold, s.sale.Result.Confirm
		groups = append(groups, BarGroup{Label: "hold, " + s.name, Values: []float64{h.P50, h.P95, h.P99}},
			BarGroup{Label: "confirm, " + s.name, Values: []float64{c.P50, c.P95, c.P99}})
	}
	out["latency.svg"] = BarChart("Hold and confirm latency through the gateway (ms)", "ms", []string{"p50", "p95", "p99"}, groups)

	var bands []Band
	for _, p := range r.Phases {
		if p.End > p.Start {
			bands = append(bands, Band{Label: p.Name, From: p.Start, To: p.End})
		}
	}
	cpu, mem := map[string]*Series{}, map[string]*Series{}
	for _, sm := range r.Samples {
		for g, v := range sm.CPU {
			add(cpu, g, sm.T, v)
		}
		for g, v := range sm.Mem {
			add(mem, g, sm.T, v)
		}
	}
	if w := cpu[procstat.WholeMachine]; w != nil {
		w.Reference = true
	}
	out["cpu.svg"] = LineChart("CPU per process (cores; the machine has "+fmt.Sprint(r.Machine.Cores)+")", "seconds since start",
		"cores", sorted(cpu), bands)
	out["memory.svg"] = LineChart("Memory per process (MiB: RSS; PostgreSQL: PSS summed)", "seconds since start", "MiB",
		sorted(mem), bands)
	return out
}

// rate turns a 100 ms timeline into seats per second: one-second steps for sales of 20 s
// or more, 200 ms steps for shorter ones (so a smoke run still draws a line).
func rate(name string, t []int) Series {
	step := 10
	if len(t) < 200 {
		step = 2
	}
	se := Series{Name: name}
	for i := 0; i < len(t); i += step {
		sum := 0
		for _, v := range t[i:min(i+step, len(t))] {
			sum += v
		}
		se.X = append(se.X, (float64(i)+float64(step)/2)/10)
		se.Y = append(se.Y, float64(sum)/(float64(step)/10))
	}
	return se
}

func sizeSale(s *Size, large bool) *Sale {
	if s == nil || len(s.Rounds) == 0 {
		return nil
	}
	if large {
		return &s.Rounds[0].Large
	}
	return &s.Rounds[0].Small
}

func add(m map[string]*Series, g string, x, y float64) {
	s := m[g]
	if s == nil {
		s = &Series{Name: g}
		m[g] = s
	}
	s.X = append(s.X, x)
	s.Y = append(s.Y, y)
}

func sorted(m map[string]*Series) []Series {
	out := make([]Series, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Table prints the headline figures, ratios and targets.
func (r *Report) Table(w io.Writer) {
	fmt.Fprintln(w, r.summaryTable())
}

func (r *Report) summaryTable() string {
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	b.WriteString("| what | result |\n|---|---|\n")
	sale := func(name string, s *Sale) {
		if s == nil {
			return
		}
		res := s.Result
		row(name, fmt.Sprintf("%s / %d buyers / %d clients%s: **%.0f seats/s** (peak second %.0f), %d seats sold in %.1f s (%s)",
			sizeNote(s), s.Buyers, s.Clients, rateNote(s.Rate), res.SeatsPerSec, res.PeakPerSec, res.SeatsSold, res.Seconds, res.Stopped))
		row(name+": hold", latency(res.Hold)+"; "+outcomes(res.HoldOut))
		row(name+": confirm", latency(res.Confirm)+"; "+outcomes(res.ConfirmOut))
		if s.WALBytes > 0 && res.Bookings > 0 {
			row(name+": write-ahead log", fmt.Sprintf("%.1f MB, %.1f kB per booking", float64(s.WALBytes)/1e6,
				float64(s.WALBytes)/1e3/float64(res.Bookings)))
		}
		if c := s.Check; c != nil {
			st := "OK"
			if !c.OK {
				st = "FAILED: " + strings.Join(c.Problems, "; ")
			}
			row(name+": invariants", fmt.Sprintf("ledger SOLD %d, CONFIRMED bookings %d with %d seats, double-sold %d, "+
				"sold-not-booked %d, booked-not-sold %d; analytics %d/%d, caught up %s after the last confirm; "+
				"confirmation e-mails all sent %s after it — %s",
				c.LedgerSold, c.ConfirmedBookings, c.ConfirmedSeats, c.DoubleSold, c.SoldNotBooked, c.BookedNotSold,
				c.AnalyticsSeatsSold, c.AnalyticsLedgerSold, lag(c.AnalyticsLagSeconds), lag(c.MailLagSeconds), st))
		}
	}
	sale("flash sale", r.Flash)
	for _, u := range r.Usage["flash sale"] {
		if u.Group == "load generator" {
			row("flash sale: the load generator's own CPU", fmt.Sprintf("%.2f cores (%.1f CPU s)", u.CPUCores, u.CPUSeconds))
		}
	}
	sale("half-rate sale", r.HalfRate)
	if br := r.Browse; br != nil {
		for _, p := range sortedPaths(br.Mix.Paths) {
			pr := br.Mix.Paths[p]
			row("browse via gateway: "+p, fmt.Sprintf("%.0f req/s, %s, gzip %d/%d, %.0f bytes on the wire",
				pr.PerSec, latency(pr.Latency), pr.Gzipped, pr.Requests, pr.MeanBytes))
		}
		row("event+availability via gateway", fmt.Sprintf("%.0f req/s, %s", br.GatewayReads.PerSec, readsLatency(br.GatewayReads)))
		if br.ProxyReads != nil {
			row("event+availability via bare proxy", fmt.Sprintf("%.0f req/s, %s", br.ProxyReads.PerSec, readsLatency(*br.ProxyReads)))
		}
	}
	if s := r.Size; s != nil && len(s.Rounds) > 0 {
		sale("size: small event", &s.Rounds[0].Small)
		sale("size: large event", &s.Rounds[0].Large)
		for i, rd := range s.Rounds[1:] {
			row(fmt.Sprintf("size: round %d", i+2), fmt.Sprintf("small %.0f seats/s (%d in %.1f s, WAL %s), large %.0f seats/s (%d in %.1f s, WAL %s); invariants %s",
				rd.Small.Result.SeatsPerSec, rd.Small.Result.SeatsSold, rd.Small.Result.Seconds, walPerBooking(rd.Small),
				rd.Large.Result.SeatsPerSec, rd.Large.Result.SeatsSold, rd.Large.Result.Seconds, walPerBooking(rd.Large),
				checked(rd.Small.Check, rd.Large.Check)))
		}
		if len(s.Rounds) > 1 {
			row("size: all rounds", fmt.Sprintf("small **%.0f seats/s**, large **%.0f seats/s** (%d rounds, order alternating)",
				s.SmallPerSec, s.LargePerSec, len(s.Rounds)))
		}
		for _, p := range sortedPaths(s.LargeReads.Paths) {
			pr := s.LargeReads.Paths[p]
			row("large event read: "+p, fmt.Sprintf("%.0f req/s, %s, gzip %d/%d, %.0f bytes on the wire",
				pr.PerSec, latency(pr.Latency), pr.Gzipped, pr.Requests, pr.MeanBytes))
		}
	}
	if p := r.Pgbench; p != nil {
		row("pgbench minimal sale", fmt.Sprintf("%.0f tx/s = %.0f seats/s (%d clients, %d s, latency avg %.2f ms)",
			p.TPS, p.SeatsPerSec, p.Clients, p.Seconds, p.LatencyAvgMs))
	}
	if rb := r.Redis; rb != nil {
		row("redis-benchmark hold script", fmt.Sprintf("%.0f EVAL/s (%d clients, p50 %.2f ms, p99 %.2f ms)",
			rb.PerSec, rb.Clients, rb.P50Ms, rb.P99Ms))
	}
	for _, ra := range r.Ratios {
		row("ratio: "+ra.Name, fmt.Sprintf("**%.1f %%** (%s)", 100*ra.Value, ra.Detail))
	}
	if len(r.Targets) > 0 {
		b.WriteString("\n| target (issue 11) | want | got | |\n|---|---|---|---|\n")
		for _, t := range r.Targets {
			mark := "miss"
			if t.Pass {
				mark = "met"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, mark)
		}
	}
	return b.String()
}

// Markdown is report.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Evently bench, %s (%s)\n\n", r.StartedAt, r.Mode)
	fmt.Fprintf(&b, "Command: `%s` — %d cores, %s, kernel %s. Everything (services, PostgreSQL, Kafka, Redis, "+
		"the mail catcher and the load generator) shares this machine.\n\n", r.Command, r.Machine.Cores, r.Machine.GoVersion, r.Machine.Kernel)
	b.WriteString("![sold seats per second](sold-per-second.svg)\n![latency](latency.svg)\n![cpu](cpu.svg)\n![memory](memory.svg)\n\n")
	b.WriteString("## Figures\n\n")
	b.WriteString(r.summaryTable())
	b.WriteString("\n## CPU and memory per phase\n\n")
	b.WriteString("For sales, \"CPU ms per booking\" divides each process's CPU time in the phase by the bookings " +
		"confirmed in it (2 seats each): the budget for 1,000 seats/s on 2 cores is 4 ms in total.\n\n")
	bookings := map[string]int{}
	for name, s := range map[string]*Sale{"flash sale": r.Flash, "half-rate sale": r.HalfRate} {
		if s != nil {
			bookings[name] = s.Result.Bookings
		}
	}
	if r.Size != nil {
		for i, rd := range r.Size.Rounds {
			bookings[SizePhase(i, false)], bookings[SizePhase(i, true)] = rd.Small.Result.Bookings, rd.Large.Result.Bookings
		}
	}
	for _, p := range r.Phases {
		us := r.Usage[p.Name]
		if len(us) == 0 {
			continue
		}
		n := bookings[p.Name]
		fmt.Fprintf(&b, "**%s** (%.1f s)\n\n| process | mean cores | CPU s | max MiB | CPU ms per booking |\n|---|---|---|---|---|\n", p.Name, p.End-p.Start)
		var total float64
		for _, u := range us {
			if u.Group != procstat.WholeMachine {
				total += u.CPUSeconds
			}
			memCol := ""
			if u.MaxMemMiB > 0 {
				memCol = fmt.Sprintf("%.0f", u.MaxMemMiB)
			}
			fmt.Fprintf(&b, "| %s | %.2f | %.1f | %s | %s |\n", u.Group, u.CPUCores, u.CPUSeconds, memCol, perBooking(u.CPUSeconds, n))
		}
		fmt.Fprintf(&b, "| **total of the processes above** | | %.1f | | %s |\n\n", total, perBooking(total, n))
	}
	b.WriteString("## Settings of the private copy\n\n")
	for _, k := range keys(r.Settings) {
		fmt.Fprintf(&b, "- `%s=%s`\n", k, r.Settings[k])
	}
	b.WriteString("\n## Flags\n\n")
	for _, k := range keys(r.Flags) {
		fmt.Fprintf(&b, "- `-%s=%s`\n", k, r.Flags[k])
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n## Errors\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	b.WriteString("\nPostgreSQL, Kafka and Redis are the shared local servers: their CPU includes anything else " +
		"running on them at the time. The memory of PostgreSQL is the sum of its processes' PSS.\n")
	return b.String()
}

func perBooking(cpuSeconds float64, bookings int) string {
	if bookings == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", 1000*cpuSeconds/float64(bookings))
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedPaths(m map[string]load.PathResult) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sizeNote(s *Sale) string {
	if s.Capacity > s.Seats {
		return fmt.Sprintf("%d of a %d-seat event", s.Seats, s.Capacity)
	}
	return fmt.Sprintf("%d seats", s.Seats)
}

func rateNote(r float64) string {
	if r > 0 {
		return fmt.Sprintf(", paced at %.0f bookings/s", r)
	}
	return ""
}

func latency(l load.Latency) string {
	return fmt.Sprintf("p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (n=%d)", l.P50, l.P95, l.P99, l.Count)
}

func readsLatency(b load.BrowseResult) string {
	var parts []string
	for _, p := range sortedPaths(b.Paths) {
		parts = append(parts, fmt.Sprintf("%s p99 %.1f ms", p, b.Paths[p].Latency.P99))
	}
	return strings.Join(parts, ", ")
}

func outcomes(m map[string]int) string {
	var parts []string
	for _, k := range keys2(m) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func keys2(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lag(s float64) string {
	if s < 0 {
		return "never (within the wait)"
	}
	return fmt.Sprintf("%.1f s", s)
}

// InvariantsHeld reports whether every sale's store check passed (a run with a failed
// check exits non-zero: a bench that oversells is broken whatever its speed).
func (r *Report) InvariantsHeld() bool {
	sales := []*Sale{r.Flash, r.HalfRate}
	if r.Size != nil {
		for i := range r.Size.Rounds {
			sales = append(sales, &r.Size.Rounds[i].Small, &r.Size.Rounds[i].Large)
		}
	}
	for _, s := range sales {
		if s != nil && s.Check != nil && !s.Check.OK {
			return false
		}
	}
	return true
}

// checked sums up store checks for a compact row: "OK", or the problems found.
func checked(cs ...*check.Result) string {
	var problems []string
	for _, c := range cs {
		switch {
		case c == nil:
			problems = append(problems, "not checked")
		case !c.OK:
			problems = append(problems, c.Problems...)
		}
	}
	if len(problems) == 0 {
		return "OK"
	}
	return "FAILED: " + strings.Join(problems, "; ")
}

// walPerBooking is a sale's write-ahead log per booking, for compact rows.
func walPerBooking(s Sale) string {
	if s.WALBytes <= 0 || s.Result.Bookings == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.1f kB per booking", float64(s.WALBytes)/1e3/float64(s.Result.Bookings))
}
