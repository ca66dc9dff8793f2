// Package live fans seat changes out to Server-Sent-Events subscribers. The hold, commit,
// release and sweep paths publish each change on the event's Redis channel (inside their
// Lua scripts); every replica subscribes once per event that has viewers and copies each
// message into its viewers' buffered queues without ever blocking: a slow viewer loses
// messages (and is told to reload) instead of slowing the hold path or other viewers.
package live

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Hub is one replica's set of subscriptions.
type Hub struct {
	rdb     *redis.Client
	channel func(uuid.UUID) string
	buffer  int
	log     *slog.Logger

	mu   sync.Mutex
	ps   *redis.PubSub
	subs map[string]map[*Sub]struct{}
}

// Sub is one viewer's queue.
type Sub struct {
	// C delivers change messages (JSON).
	C    chan []byte
	lost atomic.Bool
}

// Lost reports (and clears) whether messages were dropped since the last call.
func (s *Sub) Lost() bool { return s.lost.Swap(false) }

// NewHub builds a hub; channel names an event's Redis channel.
func NewHub(rdb *redis.Client, channel func(uuid.UUID) string, buffer int, log *slog.Logger) *Hub {
	if buffer <= 0 {
		buffer = 256
	}
	return &Hub{rdb: rdb, channel: channel, buffer: buffer, log: log, subs: map[string]map[*Sub]struct{}{}}
}

// Subscribe starts delivering the event's changes; call the returned function to stop.
func (h *Hub) Subscribe(ctx context.Context, eventID uuid.UUID) (*Sub, func(), error) {
	ch := h.channel(eventID)
	sub := &Sub{C: make(chan []byte, h.buffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ps == nil {
		h.ps = h.rdb.Subscribe(ctx)
		go h.dispatch(h.ps)
	}
	set, ok := h.subs[ch]
	if !ok {
		if err := h.ps.Subscribe(ctx, ch); err != nil {
			return nil, nil, err
		}
		set = map[*Sub]struct{}{}
		h.subs[ch] = set
	}
	set[sub] = struct{}{}
	return sub, func() { h.unsubscribe(ch, sub) }, nil
}

func (h *Hub) unsubscribe(ch string, sub *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[ch]
	delete(set, sub)
	if len(set) == 0 {
		delete(h.subs, ch)
		if h.ps != nil {
			_ = h.ps.Unsubscribe(context.Background(), ch)
		}
	}
}

// dispatch copies each message to the channel's subscribers without blocking.
func (h *Hub) dispatch(ps *redis.PubSub) {
	for msg := range ps.Channel() {
		payload := []byte(msg.Payload)
		h.mu.Lock()
		for sub := range h.subs[msg.Channel] {
			select {
			case sub.C <- payload:
			default:
				sub.lost.Store(true)
			}
		}
		h.mu.Unlock()
	}
}

// Close ends the Redis subscription.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ps != nil {
		_ = h.ps.Close()
		h.ps = nil
	}
}
