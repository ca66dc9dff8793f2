package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"evently.dev/libs/kafka"
)

// schemas are the services' database schemas; each may hold an outbox and an inbox.
var schemas = []string{"identity", "catalog", "inventory", "booking", "waitlist", "analytics"}

// Probe reads the copy's stores, topics, metrics and mail catcher.
type Probe struct {
	DatabaseURL string
	Brokers     []string
	TopicPrefix string
	MailAPI     string
	// MetricsURLs maps a service to its admin /metrics address.
	MetricsURLs map[string]string
}

func (p Probe) conn(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, p.DatabaseURL)
}

// OutboxState counts outbox rows per state across every schema.
type OutboxState struct {
	Unsent int `json:"unsent"`
	Parked int `json:"parked"`
	// Poison are the unsent rows the poison drill wrote on purpose.
	Poison int `json:"poison_unsent"`
	// Parking is true when the outbox tables can park rows (a parked_at column).
	Parking bool `json:"parking"`
}

// poisonTopic is the topic of the poison outbox row: it does not exist and the broker
// does not create topics, so the row can never be published.
const poisonTopic = "evently.chaos.poison.v1"

// poisonIDPrefix marks the ids of the poison messages that look like events.
const poisonIDPrefix = "chaos-poison-"

// Outbox counts unsent and parked rows. A parking column (parked_at) is used when the
// schema has one, so the check keeps working before and after that feature lands.
func (p Probe) Outbox(ctx context.Context) (OutboxState, error) {
	var st OutboxState
	c, err := p.conn(ctx)
	if err != nil {
		return st, err
	}
	defer c.Close(ctx)
	for _, s := range schemas {
		var hasTable, hasParked bool
		if err := c.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
			EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = $2 AND table_name = 'outbox' AND column_name = 'parked_at')`,
			s+".outbox", s).Scan(&hasTable, &hasParked); err != nil {
			return st, err
		}
		if !hasTable {
			continue
		}
		parked := "false"
		if hasParked {
			parked = "parked_at IS NOT NULL"
			st.Parking = true
		}
		var unsent, park, poison int
		q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE sent_at IS NULL AND NOT (%[1]s) AND topic <> $1),
			count(*) FILTER (WHERE sent_at IS NULL AND %[1]s), count(*) FILTER (WHERE sent_at IS NULL AND NOT (%[1]s) AND topic = $1)
			FROM %[2]s.outbox`, parked, pgx.Identifier{s}.Sanitize())
		if err := c.QueryRow(ctx, q, poisonTopic).Scan(&unsent, &park, &poison); err != nil {
			return st, err
		}
		st.Unsent += unsent
		st.Parked += park
		st.Poison += poison
	}
	return st, nil
}

// GroupLag is what one consumer group still has to read.
type GroupLag struct {
	Group   string `json:"group"`
	Members int    `json:"members"`
	Lag     int64  `json:"lag"`
}

// client connects to the copy's broker with short timeouts: a probe that hangs on a
// broker still recovering would stall the drill instead of reporting.
func (p Probe) client() (sarama.Client, error) {
	sc, err := kafka.NewSaramaConfig(kafka.Config{Brokers: p.Brokers}.WithDefaults())
	if err != nil {
		return nil, err
	}
	sc.Net.DialTimeout = 3 * time.Second
	sc.Net.ReadTimeout = 5 * time.Second
	sc.Metadata.Retry.Max = 1
	return sarama.NewClient(p.Brokers, sc)
}

// Lags reports every consumer group of the copy with members: committed offsets against
// the partitions' high-water marks on the topics it reads (dead-letter topics excluded).
func (p Probe) Lags(ctx context.Context) ([]GroupLag, error) {
	cl, err := p.client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	admin, err := sarama.NewClusterAdminFromClient(cl)
	if err != nil {
		return nil, err
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		return nil, err
	}
	var names []string
	for g := range groups {
		if strings.HasPrefix(g, p.TopicPrefix) {
			names = append(names, g)
		}
	}
	sort.Strings(names)
	descs, err := admin.DescribeConsumerGroups(names)
	if err != nil {
		return nil, err
	}
	var out []GroupLag
	for _, d := range descs {
		gl := GroupLag{Group: d.GroupId, Members: len(d.Members)}
		if gl.Members == 0 {
			out = append(out, gl)
			continue
		}
		offs, err := admin.ListConsumerGroupOffsets(d.GroupId, nil)
		if err != nil {
			return nil, err
		}
		for topic, parts := range offs.Blocks {
			if strings.HasSuffix(topic, kafka.DLQSuffix) {
				continue
			}
			for part, b := range parts {
				hwm, err := cl.GetOffset(topic, part, sarama.OffsetNewest)
				if err != nil {
					return nil, err
				}
				committed := b.Offset
				if committed < 0 {
					committed, _ = cl.GetOffset(topic, part, sarama.OffsetOldest)
				}
				gl.Lag += max(0, hwm-committed)
			}
		}
		out = append(out, gl)
	}
	return out, nil
}

// TopicMessage is what the checks need of one message.
type TopicMessage struct {
	ID, Type string
	Headers  map[string]string
}

// ReadTopic reads every message of a (prefixed) topic up to its current end.
func (p Probe) ReadTopic(ctx context.Context, topic string) ([]TopicMessage, error) {
	cl, err := p.client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	parts, err := cl.Partitions(topic)
	if err != nil {
		return nil, err
	}
	cons, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	var out []TopicMessage
	for _, part := range parts {
		end, err := cl.GetOffset(topic, part, sarama.OffsetNewest)
		if err != nil {
			return nil, err
		}
		start, err := cl.GetOffset(topic, part, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		if end <= start {
			continue
		}
		pc, err := cons.ConsumePartition(topic, part, start)
		if err != nil {
			return nil, err
		}
		func() {
			defer pc.Close()
			timeout := time.After(60 * time.Second)
			for {
				select {
				case m := <-pc.Messages():
					tm := TopicMessage{Headers: map[string]string{}}
					for _, h := range m.Headers {
						tm.Headers[string(h.Key)] = string(h.Value)
					}
					tm.ID, tm.Type = tm.Headers[kafka.HeaderID], tm.Headers[kafka.HeaderType]
					out = append(out, tm)
					if m.Offset+1 >= end {
						return
					}
				case <-timeout:
					return
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return out, nil
}

// Delivery compares the outbox, the topics and the inboxes.
type Delivery struct {
	// Messages on the copy's topics (DLQs excluded) and how many repeated an id already
	// seen (a relay re-sending after a crash: allowed, the inbox absorbs it).
	Messages   int `json:"messages"`
	Redelivers int `json:"repeated_ids"`
	// SentNotOnTopic: outbox rows marked sent whose id is on no topic (lost on the way).
	SentNotOnTopic int `json:"sent_not_on_topic"`
	// Missing: events of a type a consumer applies, on its topic, but not in its inbox.
	Missing map[string]int `json:"missing_per_consumer"`
	// Phantom: inbox ids found on no topic.
	Phantom int `json:"phantom"`
	// Dead letters per consumer group, read from the .dlq topics.
	DeadLetters map[string]int `json:"dead_letters_per_group"`
}

// Delivery reads every topic of the copy and checks nothing was lost between outbox,
// topic and inbox. Applied-twice is ruled out by the inbox key and checked where it shows
// (analytics and bookings against the ledger).
func (p Probe) Delivery(ctx context.Context) (Delivery, error) {
	d := Delivery{Missing: map[string]int{}, DeadLetters: map[string]int{}}
	cl, err := p.client()
	if err != nil {
		return d, err
	}
	topics, err := cl.Topics()
	_ = cl.Close()
	if err != nil {
		return d, err
	}
	typeOf := map[string]map[string]string{} // logical topic -> id -> type
	for _, t := range topics {
		if !strings.HasPrefix(t, p.TopicPrefix) {
			continue
		}
		msgs, err := p.ReadTopic(ctx, t)
		if err != nil {
			return d, fmt.Errorf("read %s: %w", t, err)
		}
		if strings.HasSuffix(t, kafka.DLQSuffix) {
			for _, m := range msgs {
				d.DeadLetters[m.Headers["dlq_consumer"]]++
			}
			continue
		}
		logical := strings.TrimPrefix(t, p.TopicPrefix)
		ids := map[string]string{}
		for _, m := range msgs {
			if m.ID == "" || strings.HasPrefix(m.ID, poisonIDPrefix) {
				continue // a poison message: nothing a consumer should apply
			}
			d.Messages++
			if _, seen := ids[m.ID]; seen {
				d.Redelivers++
			}
			ids[m.ID] = m.Type
		}
		typeOf[logical] = ids
	}
	c, err := p.conn(ctx)
	if err != nil {
		return d, err
	}
	defer c.Close(ctx)
	for _, s := range schemas {
		var hasOutbox, hasInbox bool
		if err := c.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL`, s+".outbox", s+".inbox").
			Scan(&hasOutbox, &hasInbox); err != nil {
			return d, err
		}
		if hasOutbox {
			rows, err := c.Query(ctx, `SELECT id::text, topic FROM `+pgx.Identifier{s}.Sanitize()+`.outbox WHERE sent_at IS NOT NULL`)
			if err != nil {
				return d, err
			}
			for rows.Next() {
				var id, topic string
				if err := rows.Scan(&id, &topic); err != nil {
					rows.Close()
					return d, err
				}
				if _, ok := typeOf[topic][id]; !ok {
					d.SentNotOnTopic++
				}
			}
			rows.Close()
		}
		if !hasInbox {
			continue
		}
		rows, err := c.Query(ctx, `SELECT consumer, topic, event_id FROM `+pgx.Identifier{s}.Sanitize()+`.inbox`)
		if err != nil {
			return d, err
		}
		applied := map[string]map[string]map[string]bool{} // consumer -> topic -> ids
		for rows.Next() {
			var cons, topic, id string
			if err := rows.Scan(&cons, &topic, &id); err != nil {
				rows.Close()
				return d, err
			}
			topic = strings.TrimPrefix(topic, p.TopicPrefix)
			if applied[cons] == nil {
				applied[cons] = map[string]map[string]bool{}
			}
			if applied[cons][topic] == nil {
				applied[cons][topic] = map[string]bool{}
			}
			applied[cons][topic][id] = true
		}
		rows.Close()
		for cons, byTopic := range applied {
			for topic, ids := range byTopic {
				// The types this consumer applies: those of the events it has applied.
				types := map[string]bool{}
				for id := range ids {
					t, ok := typeOf[topic][id]
					if !ok {
						d.Phantom++
						continue
					}
					types[t] = true
				}
				for id, t := range typeOf[topic] {
					if types[t] && !ids[id] {
						d.Missing[s+"/"+cons]++
					}
				}
			}
		}
	}
	return d, nil
}

// DeadLetteredMetric sums consumer_messages_total{outcome="dead_lettered"} per service
// from the admin /metrics endpoints.
func (p Probe) DeadLetteredMetric(ctx context.Context) map[string]float64 {
	out := map[string]float64{}
	for svc, u := range p.MetricsURLs {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "consumer_messages") && strings.Contains(line, `outcome="dead_lettered"`) {
				f := strings.Fields(line)
				if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
					out[svc] += v
				}
			}
		}
		_ = res.Body.Close()
	}
	return out
}

// Mail compares the waitlist's notifications with what reached the mail catcher.
type Mail struct {
	Notifications int `json:"notifications"`
	Pending       int `json:"pending"`
	Failed        int `json:"failed"`
	Delivered     int `json:"delivered_messages"`
	// Missing: SENT or PENDING notifications with no message; Duplicates: extra copies.
	Missing    int `json:"missing"`
	Duplicates int `json:"duplicates"`
}

// Mail reads both sides. The message id of each e-mail is the notification id.
func (p Probe) Mail(ctx context.Context) (Mail, error) {
	var m Mail
	c, err := p.conn(ctx)
	if err != nil {
		return m, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT id::text, status FROM waitlist.notifications`)
	if err != nil {
		return m, err
	}
	want := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			rows.Close()
			return m, err
		}
		want[id] = st
		m.Notifications++
		switch st {
		case "PENDING":
			m.Pending++
		case "FAILED":
			m.Failed++
		}
	}
	rows.Close()
	got := map[string]int{}
	for start := 0; ; start += 500 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/messages?start=%d&limit=500", p.MailAPI, start), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return m, err
		}
		var page struct {
			Total    int `json:"total"`
			Messages []struct {
				MessageID string `json:"MessageID"`
			} `json:"messages"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		_ = res.Body.Close()
		if err != nil {
			return m, fmt.Errorf("mailpit messages: %w", err)
		}
		for _, msg := range page.Messages {
			got[strings.TrimSuffix(strings.Trim(msg.MessageID, "<>"), "@evently.local")]++
			m.Delivered++
		}
		if len(page.Messages) == 0 || start+len(page.Messages) >= page.Total {
			break
		}
	}
	for id := range want {
		switch n := got[id]; {
		case n == 0:
			m.Missing++
		case n > 1:
			m.Duplicates += n - 1
		}
	}
	return m, nil
}

// AnalyticsAgrees reports whether analytics' serving generation shows the ledger's SOLD
// count for the event, on both its booking side and its inventory side.
func (p Probe) AnalyticsAgrees(ctx context.Context, eventID string) (bool, error) {
	c, err := p.conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close(ctx)
	var ok bool
	err = c.QueryRow(ctx, `SELECT coalesce((SELECT max(e.seats_sold) = l.n AND max(e.ledger_sold) = l.n
			FROM analytics.events e JOIN analytics.generation g ON e.gen = g.serving WHERE e.event_id = $1), l.n = 0)
		FROM (SELECT count(*) AS n FROM inventory.seats WHERE event_id = $1 AND status = 'SOLD') l`, eventID).Scan(&ok)
	return ok, err
}

// SeatStates counts the event's ledger rows per status.
func (p Probe) SeatStates(ctx context.Context, eventID string) (map[string]int, error) {
	c, err := p.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT status, count(*) FROM inventory.seats WHERE event_id = $1 GROUP BY status`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
