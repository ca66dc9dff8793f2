package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Report is one chaos run; report.json is this struct.
type Report struct {
	StartedAt string            `json:"started_at"`
	Mode      string            `json:"mode"`
	Command   string            `json:"command"`
	Flags     map[string]string `json:"flags"`
	Settings  map[string]string `json:"settings"`
	Results   []*Result         `json:"drills"`
	// Errors are failures outside any drill (start-up, set-up).
	Errors []string `json:"errors"`
}

// Passed reports whether every drill held every invariant and nothing else failed.
func (r *Report) Passed() bool {
	if len(r.Errors) > 0 || len(r.Results) == 0 {
		return false
	}
	for _, d := range r.Results {
		if !d.OK {
			return false
		}
	}
	return true
}

// Write saves report.md and report.json in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), b, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o600)
}

func secs(s float64) string {
	if s < 0 {
		return "not reached"
	}
	return fmt.Sprintf("%.1f s", s)
}

// Table prints the per-drill summary.
func (r *Report) Table(w io.Writer) { fmt.Fprint(w, r.table()) }

func (r *Report) table() string {
	var b strings.Builder
	b.WriteString("| drill | fault | seats sold / sale | failed requests (by status) | first confirm OK after repair | consumers caught up | outbox drained | analytics = ledger (after repair / after sale end) | result |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, d := range r.Results {
		res := "PASS"
		if !d.OK {
			res = "FAIL"
		}
		fmt.Fprintf(&b, "| %s | %.0f s | %d / %d | %s | %s | %s | %s | %s / %s | %s |\n", d.Name, d.FaultSeconds, d.Sale.SeatsSold, d.Seats,
			failedLine(d.Failed), secs(d.FirstSuccessS), secs(d.CaughtUpS), secs(d.OutboxDrainedS), secs(d.AnalyticsRepairS), secs(d.AnalyticsS), res)
	}
	return b.String()
}

func failedLine(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Markdown is report.md: the table, then each drill's invariants, notes and problems.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Fault drills (%s run, %s)\n\n", r.Mode, r.StartedAt)
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	b.WriteString("Each drill runs a paced flash sale on a new event of a private copy that uses its own PostgreSQL, " +
		"Redis, Kafka and Mailpit, breaks one thing in the middle of the sale and checks the stores, topics and mail " +
		"catcher afterwards. Times are measured from the repair (the server started again, the process restarted); " +
		"\"failed requests\" include the contention answers of a normal sale (409 seats_unavailable, not_enough_seats). " +
		"\"Consumers caught up\" is the first sample with the outbox empty and every group at the end of its topics; while " +
		"the paced sale goes on, events keep flowing, so this is often only reached when the sale ends (`-tail` after the repair).\n\n")
	b.WriteString(r.table())
	for _, d := range r.Results {
		fmt.Fprintf(&b, "\n## %s — %s\n\n", d.Name, d.Fault)
		res := "passed"
		if !d.OK {
			res = "FAILED"
		}
		fmt.Fprintf(&b, "- result: **%s** (drill took %.0f s, sale stopped: %s)\n", res, d.Seconds, d.Sale.Stopped)
		if c := d.Check; c != nil {
			fmt.Fprintf(&b, "- ledger %d SOLD, CONFIRMED bookings %d (%d seats), double-sold %d, PENDING %d, analytics %d/%d\n",
				c.LedgerSold, c.ConfirmedBookings, c.ConfirmedSeats, c.DoubleSold, c.PendingBookings, c.AnalyticsSeatsSold, c.AnalyticsLedgerSold)
		}
		fmt.Fprintf(&b, "- outbox: %d unsent, %d parked\n", d.Outbox.Unsent, d.Outbox.Parked)
		if dl := d.Delivery; dl != nil {
			fmt.Fprintf(&b, "- topics: %d events, %d published more than once; sent rows not on a topic %d; never applied %v; phantom inbox rows %d\n",
				dl.Messages, dl.Redelivers, dl.SentNotOnTopic, dl.Missing, dl.Phantom)
		}
		if len(d.DLQDelta) > 0 {
			fmt.Fprintf(&b, "- dead letters added per group: %v\n", d.DLQDelta)
		}
		if len(d.Metric) > 0 {
			fmt.Fprintf(&b, "- consumer_messages_total{outcome=\"dead_lettered\"} per service: %v\n", d.Metric)
		}
		if m := d.Mail; m != nil {
			fmt.Fprintf(&b, "- e-mail: %d notifications, %d messages caught, %d pending, %d FAILED, %d missing, %d duplicates; all delivered %s after the repair\n",
				m.Notifications, m.Delivered, m.Pending, m.Failed, m.Missing, m.Duplicates, secs(d.MailS))
		}
		fmt.Fprintf(&b, "- hold latency p99 %.0f ms, confirm p99 %.0f ms (successful requests)\n", d.Sale.Hold.P99, d.Sale.Confirm.P99)
		for op, msg := range d.Sale.FirstTransportError {
			fmt.Fprintf(&b, "- first transport error of %s: %s\n", op, msg)
		}
		for _, n := range d.Notes {
			fmt.Fprintf(&b, "- note: %s\n", n)
		}
		for _, p := range d.Problems {
			fmt.Fprintf(&b, "- PROBLEM: %s\n", p)
		}
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n## Errors\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	return b.String()
}
