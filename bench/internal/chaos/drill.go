package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"evently.dev/bench/internal/check"
	"evently.dev/bench/internal/client"
	"evently.dev/bench/internal/load"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
)

// Durations are the lengths of the faults and the waits around them.
type Durations struct {
	// Lead is how long the sale runs before the fault; Tail how long it goes on after.
	Lead, Tail time.Duration
	// KafkaDown and KafkaFrozen: broker stopped, broker SIGSTOPped.
	KafkaDown, KafkaFrozen time.Duration
	// PGDown is the gap between PostgreSQL's fast shutdown and its start.
	PGDown time.Duration
	// KillDown is the gap between a service's SIGKILL and its restart.
	KillDown time.Duration
	// SMTPDown is how long the mail server is away.
	SMTPDown time.Duration
	// Recover bounds every wait for recovery (consumers, outbox, analytics, e-mail); it
	// is a generous bound, not a target: the measured times are reported.
	Recover time.Duration
	// Settle is how long PENDING bookings get to settle (above the reconciler interval).
	Settle time.Duration
	// Stall ends a drill's sale when nothing sold for this long beyond the fault's length
	// (seats stuck in holds after a fault would otherwise keep it going until the bound).
	Stall time.Duration
}

// Env is what a drill acts on.
type Env struct {
	Servers  *Servers
	Services map[string]Service
	Probe    Probe
	API      *client.Client
	Admin    string
	Buyers   []string
	// Rate is bookings started per second during a drill's sale; Clients the concurrency.
	Rate    float64
	Clients int
	D       Durations
	Logf    func(format string, args ...any)

	prepared any
}

// Drill is one fault.
type Drill struct {
	Name  string
	Fault string
	// Length is how long the fault lasts, to size the sale around it.
	Length func(Durations) time.Duration
	// Inject breaks something and repairs it; it returns once the repair is started.
	Inject func(ctx context.Context, e *Env) error
	// Prepare, when set, runs before the sale; Inject finds its result in Env.prepared.
	Prepare func(ctx context.Context, e *Env) (any, error)
	// Poison drills check dead letters instead of expecting none.
	Poison bool
	// Mail drills require every e-mail delivered exactly once.
	Mail bool
}

// Drills lists every drill by name, in the order a full run takes them.
func Drills() []Drill {
	kill := func(svc string) Drill {
		return Drill{Name: "kill-" + svc, Fault: "SIGKILL " + svc + " mid-sale, restarted",
			Length: func(d Durations) time.Duration { return d.KillDown },
			Inject: func(ctx context.Context, e *Env) error {
				s := e.Services[svc]
				if err := s.KillAndRestart(ctx, e.D.KillDown); err != nil {
					return err
				}
				return waitFor(ctx, e.D.Recover, s.Ready)
			}}
	}
	return []Drill{
		{Name: "kafka-stop", Fault: "Kafka broker stopped (SIGTERM), started again",
			Length: func(d Durations) time.Duration { return d.KafkaDown },
			Inject: func(ctx context.Context, e *Env) error {
				e.Servers.Kafka.Stop()
				sleepCtx(ctx, e.D.KafkaDown)
				return e.Servers.Kafka.Start(ctx)
			}},
		{Name: "kafka-freeze", Fault: "Kafka broker frozen (SIGSTOP), resumed (SIGCONT)",
			Length: func(d Durations) time.Duration { return d.KafkaFrozen },
			Inject: func(ctx context.Context, e *Env) error {
				e.Servers.Kafka.Freeze()
				sleepCtx(ctx, e.D.KafkaFrozen)
				e.Servers.Kafka.Thaw()
				return nil
			}},
		{Name: "redis-restart", Fault: "Redis killed and restarted empty (every hold lost)",
			Length: func(Durations) time.Duration { return time.Second },
			Inject: func(ctx context.Context, e *Env) error { return e.Servers.Redis.RestartEmpty(ctx) }},
		{Name: "postgres-restart", Fault: "PostgreSQL fast shutdown, started again",
			Length: func(d Durations) time.Duration { return d.PGDown + 3*time.Second },
			Inject: func(ctx context.Context, e *Env) error { return e.Servers.PG.RestartFast(ctx, e.D.PGDown) }},
		kill("inventory"),
		kill("booking"),
		kill("waitlist"),
		kill("analytics"),
		{Name: "smtp-down", Fault: "SMTP server (Mailpit) stopped, started again", Mail: true,
			Length:  func(d Durations) time.Duration { return d.SMTPDown },
			Prepare: func(ctx context.Context, e *Env) (any, error) { return prepareWaitlist(ctx, e) },
			Inject: func(ctx context.Context, e *Env) error {
				e.Servers.Mailpit.Stop()
				t0 := time.Now()
				err := e.prepared.(*waitlistScene).exercise(ctx, e)
				sleepCtx(ctx, e.D.SMTPDown-time.Since(t0))
				return errors.Join(err, e.Servers.Mailpit.Start(ctx))
			}},
		{Name: "poison", Fault: "a poison message on every consumed topic and a poison outbox row", Poison: true,
			Length: func(Durations) time.Duration { return time.Second },
			Inject: func(ctx context.Context, e *Env) error { return injectPoison(ctx, e) }},
	}
}

// consumedTopics are the topics some service consumes (logical names).
var consumedTopics = []string{contracts.TopicIdentityUsers, contracts.TopicCatalogEvents, contracts.TopicInventorySeats,
	contracts.TopicBookingBookings, contracts.TopicWaitlist}

// injectPoison publishes, on every consumed topic, a message that is no event (no
// CloudEvents headers, not JSON) and one that claims a real type but carries a broken
// payload, and writes an outbox row that can never be published.
func injectPoison(ctx context.Context, e *Env) error {
	cl, err := e.Probe.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	p, err := sarama.NewSyncProducerFromClient(cl)
	if err != nil {
		return err
	}
	defer p.Close()
	for _, t := range consumedTopics {
		topic := e.Probe.TopicPrefix + t
		typ := commonType(ctx, e.Probe, topic)
		msgs := []*sarama.ProducerMessage{{Topic: topic, Key: sarama.StringEncoder("chaos"), Value: sarama.StringEncoder("\x00 poison: not an event")}}
		if typ != "" {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("chaos"), Value: sarama.StringEncoder(`{"poison":`),
				Headers: []sarama.RecordHeader{
					{Key: []byte(kafka.HeaderID), Value: []byte(fmt.Sprintf("%s%d", poisonIDPrefix, time.Now().UnixNano()))},
					{Key: []byte(kafka.HeaderType), Value: []byte(typ)},
					{Key: []byte(kafka.HeaderSource), Value: []byte("chaos")},
					{Key: []byte(kafka.HeaderTime), Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
					{Key: []byte(kafka.HeaderSpecVersion), Value: []byte("1.0")},
					{Key: []byte(kafka.HeaderContentType), Value: []byte("application/json")},
				}})
		}
		if err := p.SendMessages(msgs); err != nil {
			return fmt.Errorf("poison %s: %w", t, err)
		}
	}
	c, err := e.Probe.conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `INSERT INTO booking.outbox (id, topic, key, type, source, event_time, payload)
		VALUES (gen_random_uuid(), $1, 'chaos', 'evently.chaos.poison.v1', 'chaos', now(), '{"poison": true}')`, poisonTopic)
	return err
}

// commonType is the most frequent CloudEvents type on a topic (the one its consumers
// most likely apply), or "" for an empty topic.
func commonType(ctx context.Context, p Probe, topic string) string {
	msgs, err := p.ReadTopic(ctx, topic)
	if err != nil {
		return ""
	}
	n := map[string]int{}
	for _, m := range msgs {
		if m.Type != "" && !strings.HasPrefix(m.Type, "evently.inventory.hold.") {
			n[m.Type]++
		}
	}
	best := ""
	for t, c := range n {
		if c > n[best] || (c == n[best] && t < best) {
			best = t
		}
	}
	return best
}

// Result is one drill's outcome.
type Result struct {
	Name  string `json:"name"`
	Fault string `json:"fault"`
	Seats int    `json:"seats"`
	// FaultSeconds is how long the fault (injection to repair) took.
	FaultSeconds float64         `json:"fault_s"`
	Sale         load.SaleResult `json:"sale"`
	// Failed are the non-2xx outcomes of holds and confirms (409 contention included).
	Failed map[string]int `json:"failed_requests"`
	// Recovery times in seconds after the repair; -1 when not reached within the bound.
	FirstSuccessS  float64 `json:"first_success_after_fault_s"`
	CaughtUpS      float64 `json:"consumers_caught_up_s"`
	OutboxDrainedS float64 `json:"outbox_drained_s"`
	// AnalyticsRepairS: analytics first showed the ledger after the repair (mid-sale
	// agreement counts); AnalyticsS: after the sale's last confirm.
	AnalyticsRepairS float64 `json:"analytics_eq_ledger_after_repair_s"`
	AnalyticsS       float64 `json:"analytics_eq_ledger_after_sale_s"`
	MailS            float64 `json:"mail_delivered_s,omitempty"`

	Check    *check.Result      `json:"check"`
	Outbox   OutboxState        `json:"outbox"`
	Lags     []GroupLag         `json:"lags"`
	Delivery *Delivery          `json:"delivery"`
	Mail     *Mail              `json:"mail,omitempty"`
	DLQDelta map[string]int     `json:"dead_letters_added,omitempty"`
	Metric   map[string]float64 `json:"dead_lettered_metric,omitempty"`
	Notes    []string           `json:"notes"`
	Problems []string           `json:"problems"`
	OK       bool               `json:"ok"`
	Seconds  float64            `json:"seconds"`
}

func (r *Result) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Run runs one drill: a paced sale on a new event, the fault in the middle of it, then
// the recovery measurements and the invariants.
func Run(ctx context.Context, e *Env, d Drill) *Result {
	began := time.Now()
	res := &Result{Name: d.Name, Fault: d.Fault, FirstSuccessS: -1, CaughtUpS: -1, OutboxDrainedS: -1, AnalyticsRepairS: -1, AnalyticsS: -1}
	defer func() {
		res.OK = len(res.Problems) == 0
		res.Seconds = time.Since(began).Seconds()
	}()
	length := d.Length(e.D)
	// Seats for a sale that lasts lead + fault + tail at the paced rate (2 seats a booking).
	span := e.D.Lead + length + e.D.Tail
	seats := int(span.Seconds()*e.Rate*2/100+1) * 100
	res.Seats = seats
	before, err := e.Probe.Delivery(ctx)
	if err != nil {
		res.problem("read topics before the drill: %v", err)
		return res
	}
	e.prepared = nil
	if d.Prepare != nil {
		if e.prepared, err = d.Prepare(ctx, e); err != nil {
			res.problem("prepare: %v", err)
			return res
		}
	}
	ev, sections, pairs, err := newEvent(ctx, e, d.Name, seats)
	if err != nil {
		res.problem("create the drill's event: %v", err)
		return res
	}
	var mu sync.Mutex
	var oks []time.Time
	sale := load.Sale{EventID: ev.ID, Sections: sections, Pairs: pairs, Buyers: e.Buyers, Clients: e.Clients,
		ExplicitShare: 0.5, Rate: e.Rate, Target: seats, Stall: length + e.D.Stall, Timeout: span + 2*e.D.Recover,
		Confirmed: func(at time.Time) { mu.Lock(); oks = append(oks, at); mu.Unlock() }}
	done := make(chan load.SaleResult, 1)
	go func() { done <- sale.Run(ctx, e.API) }()
	sleepCtx(ctx, e.D.Lead)
	e.Logf("%s: %s", d.Name, d.Fault)
	faultAt := time.Now()
	if err := d.Inject(ctx, e); err != nil {
		res.problem("inject: %v", err)
	}
	repaired := time.Now()
	res.FaultSeconds = repaired.Sub(faultAt).Seconds()
	e.Logf("%s: repaired after %.1f s; waiting for the sale to end", d.Name, res.FaultSeconds)
	// Recovery is measured from the repair while the sale goes on: the first moment every
	// consumer group has read everything, the outbox is empty and analytics shows the ledger.
	pollCtx, stopPoll := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		res.CaughtUpS, res.OutboxDrainedS, res.AnalyticsRepairS = pollRecovery(pollCtx, e, ev.ID, repaired)
	}()
	res.Sale = <-done
	res.Failed = failures(res.Sale)
	mu.Lock()
	for _, t := range oks {
		if !t.Before(repaired) {
			res.FirstSuccessS = t.Sub(repaired).Seconds()
			break
		}
	}
	mu.Unlock()
	if res.FirstSuccessS < 0 {
		res.problem("no confirm succeeded after the repair")
	}
	if res.Sale.SeatsSold < seats {
		st, _ := e.Probe.SeatStates(ctx, ev.ID)
		av, _ := e.API.Do(ctx, http.MethodGet, "/api/v1/events/"+ev.ID+"/availability", "", nil)
		res.Notes = append(res.Notes, fmt.Sprintf("sale ended with %d of %d seats sold (%s); ledger %v; %d holds released after a failed confirm; availability %.300s",
			res.Sale.SeatsSold, seats, res.Sale.Stopped, st, res.Sale.Released, av.Body))
	}
	select {
	case <-polled:
	case <-time.After(e.D.Recover):
	}
	stopPoll()
	<-polled

	// After the sale: every group with members at lag 0, every outbox row sent.
	deadline := time.Now().Add(e.D.Recover)
	var lagOK, outboxOK bool
	for {
		if lags, err := e.Probe.Lags(ctx); err == nil {
			res.Lags = lags
			lagOK = totalLag(lags) == 0
		}
		if st, err := e.Probe.Outbox(ctx); err == nil {
			res.Outbox = st
			outboxOK = st.Unsent == 0
		}
		if (lagOK && outboxOK) || time.Now().After(deadline) {
			break
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
	if !lagOK {
		res.problem("consumer groups still behind %s after the sale: %s", e.D.Recover, lagLine(res.Lags))
	}
	if !outboxOK {
		res.problem("%d outbox rows unsent %s after the sale", res.Outbox.Unsent, e.D.Recover)
	}
	for _, g := range res.Lags {
		if g.Members == 0 && !strings.Contains(g.Group, "analytics") {
			res.problem("consumer group %s has no members (did its service stop consuming?)", g.Group)
		}
	}

	c, err := check.Run(ctx, check.Options{DatabaseURL: e.Probe.DatabaseURL, EventID: ev.ID, BenchSold: res.Sale.SeatsSold,
		SaleEnded: res.Sale.Ended, AnalyticsWait: e.D.Recover, SettleWait: e.D.Settle})
	if err != nil {
		res.problem("check the stores: %v", err)
	} else {
		res.Check = &c
		res.AnalyticsS = c.AnalyticsLagSeconds
		for _, p := range c.Problems {
			res.problem("%s", p)
		}
	}

	if d.Mail {
		if w, ok := e.prepared.(*waitlistScene); ok {
			n, err := 0, error(nil)
			for t0 := time.Now(); time.Since(t0) < e.D.Recover; sleepCtx(ctx, 500*time.Millisecond) {
				if n, err = w.offers(ctx, e.Probe); err == nil && n > 0 {
					break
				}
			}
			if err != nil || n == 0 {
				res.problem("no waitlist offer e-mail written after 5 cancellations on a sold-out event with a queue of 10 (%v)", err)
			}
			res.Notes = append(res.Notes, fmt.Sprintf("waitlist: 10 joined a sold-out event, 5 bookings cancelled, %d offer e-mails written", n))
		}
		t0 := time.Now()
		for {
			m, err := e.Probe.Mail(ctx)
			if err != nil {
				res.problem("mail: %v", err)
				break
			}
			res.Mail = &m
			if m.Pending == 0 && m.Missing == 0 {
				res.MailS = time.Since(repaired).Seconds()
				break
			}
			if time.Since(t0) > e.D.Recover {
				res.MailS = -1
				break
			}
			sleepCtx(ctx, 500*time.Millisecond)
		}
		if m := res.Mail; m != nil {
			if m.Notifications == 0 {
				res.problem("no e-mail was written during the drill (nothing exercised)")
			}
			if m.Failed > 0 || m.Pending > 0 || m.Missing > 0 || m.Duplicates > 0 {
				res.problem("e-mail: %d notifications, %d pending, %d FAILED, %d without a message, %d duplicates",
					m.Notifications, m.Pending, m.Failed, m.Missing, m.Duplicates)
			}
		}
	}

	after, err := e.Probe.Delivery(ctx)
	if err != nil {
		res.problem("read topics after the drill: %v", err)
		return res
	}
	res.Delivery = &after
	if after.SentNotOnTopic > 0 {
		res.problem("%d outbox rows marked sent are on no topic", after.SentNotOnTopic)
	}
	for cons, n := range after.Missing {
		res.problem("%d events on the topics never applied by %s", n, cons)
	}
	if after.Phantom > 0 {
		res.problem("%d inbox rows name events found on no topic", after.Phantom)
	}
	if after.Redelivers > before.Redelivers {
		res.Notes = append(res.Notes, fmt.Sprintf("%d events published more than once (absorbed by the inboxes)", after.Redelivers-before.Redelivers))
	}
	res.DLQDelta = map[string]int{}
	for g, n := range after.DeadLetters {
		if n > before.DeadLetters[g] {
			res.DLQDelta[g] = n - before.DeadLetters[g]
		}
	}
	if d.Poison {
		judgePoison(ctx, e, res)
	} else if len(res.DLQDelta) > 0 {
		res.problem("healthy events were dead-lettered: %v", res.DLQDelta)
	}
	return res
}

// pollRecovery samples the copy from the repair on and returns, in seconds after the
// repair, the first time each recovery condition held (-1 when it had not when ctx ended).
func pollRecovery(ctx context.Context, e *Env, eventID string, repaired time.Time) (caughtUp, drained, analytics float64) {
	caughtUp, drained, analytics = -1, -1, -1
	for ctx.Err() == nil && (caughtUp < 0 || drained < 0 || analytics < 0) {
		at := time.Since(repaired).Seconds()
		// Caught up means nothing anywhere between a write and its consumers: the outbox
		// empty and every group at the topics' end in the same sample (a frozen broker
		// shows lag 0 while the outbox piles up).
		empty := false
		if st, err := e.Probe.Outbox(ctx); err == nil && st.Unsent == 0 {
			empty = true
			if drained < 0 {
				drained = at
			}
		}
		if caughtUp < 0 && empty {
			if lags, err := e.Probe.Lags(ctx); err == nil && len(lags) > 0 && totalLag(lags) == 0 {
				caughtUp = at
			}
		}
		if analytics < 0 {
			if ok, err := e.Probe.AnalyticsAgrees(ctx, eventID); err == nil && ok {
				analytics = at
			}
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
	return caughtUp, drained, analytics
}

// judgePoison requires a dead letter from every consuming group, the metric to show it,
// and the poison outbox row parked (when the relay parks) without holding up the others.
func judgePoison(ctx context.Context, e *Env, res *Result) {
	for _, g := range res.Lags {
		// Dead letters name the logical group; Kafka's group ids carry the copy's prefix.
		if g.Members > 0 && res.DLQDelta[strings.TrimPrefix(g.Group, e.Probe.TopicPrefix)] == 0 {
			res.problem("group %s dead-lettered none of the poison messages", g.Group)
		}
	}
	res.Metric = e.Probe.DeadLetteredMetric(ctx)
	for _, svc := range []string{"inventory", "booking", "waitlist", "analytics", "catalog"} {
		if res.Metric[svc] == 0 {
			res.problem("%s's consumer_messages_total{outcome=\"dead_lettered\"} shows no dead letter", svc)
		}
	}
	st := res.Outbox
	// A parking relay sets the row aside after its own attempts and backoff: wait for it.
	for t0 := time.Now(); st.Parking && st.Parked == 0 && time.Since(t0) < e.D.Recover; sleepCtx(ctx, 500*time.Millisecond) {
		if s, err := e.Probe.Outbox(ctx); err == nil {
			st = s
		}
	}
	res.Outbox = st
	switch {
	case st.Parked > 0:
		res.Notes = append(res.Notes, fmt.Sprintf("poison outbox row parked (%d parked rows); the other rows kept flowing", st.Parked))
	case st.Poison > 0:
		var attempts int
		var lastErr *string
		if c, err := e.Probe.conn(ctx); err == nil {
			_ = c.QueryRow(ctx, `SELECT attempts, last_error FROM booking.outbox WHERE topic = $1 AND sent_at IS NULL LIMIT 1`, poisonTopic).Scan(&attempts, &lastErr)
			// Unparked, the row would be retried for ever; remove it so later drills start clean.
			_, _ = c.Exec(ctx, `DELETE FROM booking.outbox WHERE topic = $1 AND sent_at IS NULL`, poisonTopic)
			_ = c.Close(ctx)
		}
		msg := fmt.Sprintf("poison outbox row not parked: %d attempts, last error %q; other rows kept flowing", attempts, deref(lastErr))
		if st.Parking {
			res.problem("%s (the relay parks rows, but not this one within %s)", msg, e.D.Recover)
		} else {
			res.Notes = append(res.Notes, msg+" (this relay has no parking)")
		}
	default:
		res.problem("the poison outbox row disappeared without being parked (published to a topic that does not exist?)")
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// newEvent creates and publishes the drill's event and lists its sections and seat pairs.
func newEvent(ctx context.Context, e *Env, name string, seats int) (client.Event, []string, [][2]string, error) {
	var ev client.Event
	var err error
	// The previous drill's fault may still echo (a restarted service warming up): retry.
	for attempt := range 10 {
		ev, err = e.API.CreatePublishedEvent(ctx, e.Admin, fmt.Sprintf("Chaos %s %s", name, time.Now().UTC().Format("150405.000")), layout(seats))
		if err == nil {
			break
		}
		e.Logf("create event (attempt %d): %v", attempt+1, err)
		sleepCtx(ctx, 3*time.Second)
	}
	if err != nil {
		return ev, nil, nil, err
	}
	if err := e.API.WaitOnSale(ctx, ev.ID, e.D.Recover); err != nil {
		return ev, nil, nil, err
	}
	m, err := e.API.Layout(ctx, e.Admin, ev.ID)
	if err != nil {
		return ev, nil, nil, err
	}
	var sections []string
	for _, s := range ev.Sections {
		sections = append(sections, s.SectionID)
	}
	return ev, sections, load.PairsFromMap(m, uint64(seats)), nil
}

// layout splits n seats (a multiple of 100) into sections of at most 10 rows of 100.
func layout(n int) []client.Section {
	rows := n / 100
	var out []client.Section
	for s := 0; rows > 0; s++ {
		k := min(10, rows)
		out = append(out, client.Section{Name: fmt.Sprintf("Block %d", s+1), RowStart: "1", RowEnd: client.RowName(k - 1), SeatsPerRow: 100})
		rows -= k
	}
	return out
}

func failures(s load.SaleResult) map[string]int {
	out := map[string]int{}
	for op, m := range map[string]map[string]int{"hold": s.HoldOut, "confirm": s.ConfirmOut, "release": s.ReleaseOut} {
		for k, v := range m {
			if !strings.HasPrefix(k, "2") {
				out[op+" "+k] += v
			}
		}
	}
	return out
}

func totalLag(ls []GroupLag) int64 {
	var n int64
	for _, l := range ls {
		n += l.Lag
	}
	return n
}

func lagLine(ls []GroupLag) string {
	var parts []string
	for _, l := range ls {
		if l.Lag > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", l.Group, l.Lag))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
