package http

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"evently.dev/libs/contracts/inventoryapi"
	"evently.dev/libs/httpserver"

	"evently.dev/services/inventory/internal/app"
	"evently.dev/services/inventory/internal/domain"
)

// encodedLayout holds each seat's JSON up to its status, encoded once per layout: a
// 50,000-seat map is then answered by copying bytes, not by reflecting over structs.
type encodedLayout struct {
	layout *app.Layout
	seats  [][]byte
}

type layoutCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]*encodedLayout
}

func (lc *layoutCache) get(l *app.Layout) *encodedLayout {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if e, ok := lc.m[l.EventID]; ok && e.layout == l {
		return e
	}
	if lc.m == nil || len(lc.m) > 64 {
		lc.m = map[uuid.UUID]*encodedLayout{}
	}
	e := &encodedLayout{layout: l, seats: make([][]byte, len(l.Seats))}
	for i, st := range l.Seats {
		b := make([]byte, 0, 160)
		b = append(b, `{"seat_id":`...)
		b = appendString(b, st.ID)
		b = append(b, `,"section_id":`...)
		b = appendString(b, st.SectionID)
		b = append(b, `,"row":`...)
		b = appendString(b, st.Row)
		b = append(b, `,"number":`...)
		b = strconv.AppendInt(b, int64(st.Number), 10)
		b = append(b, `,"label":`...)
		b = appendString(b, st.Label)
		b = append(b, `,"x":`...)
		b = strconv.AppendFloat(b, st.X, 'f', -1, 64)
		b = append(b, `,"y":`...)
		b = strconv.AppendFloat(b, st.Y, 'f', -1, 64)
		b = append(b, `,"status":"`...)
		e.seats[i] = b
	}
	lc.m[l.EventID] = e
	return e
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// renderedMap is one event's seat map as last rendered, plain and gzipped, for the seat
// states of one generation (SeatMap.Gen) and the sale data it was rendered with. Readers of
// a big event share it until the states change: a 100,000-seat map is 17 MB of JSON, and
// rendering and compressing it per request cost the CPU and memory of a rush.
type renderedMap struct {
	key  string
	mu   sync.Mutex // held while rendering, so concurrent readers render once
	done bool
	body []byte
	gz   []byte
}

type mapCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]*renderedMap
}

// get returns the event's entry for key, replacing an entry of another key.
func (mc *mapCache) get(id uuid.UUID, key string) *renderedMap {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if e, ok := mc.m[id]; ok && e.key == key {
		return e
	}
	if mc.m == nil || len(mc.m) > 16 {
		mc.m = map[uuid.UUID]*renderedMap{}
	}
	e := &renderedMap{key: key}
	mc.m[id] = e
	return e
}

// layout answers the seat map: every seat with its status and price, plus section counts.
// Answers are rendered once per generation of seat states and kept gzipped (see
// renderedMap); a client that does not accept gzip gets the same JSON uncompressed.
func (h *Handler) layout(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	m, err := h.App.SeatMap(c.Request().Context(), id)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%d|%s|%s", m.Gen, m.Event.Status, m.Event.Currency)
	for _, sec := range m.Event.Sections {
		key += "|" + sec.ID + "=" + strconv.FormatInt(sec.Price, 10)
	}
	e := h.maps.get(id, key)
	e.mu.Lock()
	if !e.done {
		e.body = h.renderMap(id, m)
		var zb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
		_, _ = zw.Write(e.body)
		_ = zw.Close()
		e.gz, e.done = zb.Bytes(), true
	}
	e.mu.Unlock()
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	hdr.Set(echo.HeaderCacheControl, "no-store")
	hdr.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	body := e.body
	if httpserver.AcceptsGzip(c.Request().Header.Get(echo.HeaderAcceptEncoding)) {
		hdr.Set(echo.HeaderContentEncoding, "gzip")
		body = e.gz
	}
	hdr.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	c.Response().WriteHeader(http.StatusOK)
	_, err = c.Response().Write(body)
	return err
}

// renderMap encodes a seat map as JSON by copying pre-encoded seat bytes.
func (h *Handler) renderMap(id uuid.UUID, m app.SeatMap) []byte {
	enc := h.layouts.get(m.Layout)
	price := make(map[string][]byte, len(m.Event.Sections))
	for _, sec := range m.Event.Sections {
		price[sec.ID] = strconv.AppendInt(nil, sec.Price, 10)
	}
	zero := []byte("0")
	counts := m.Counts()
	b := make([]byte, 0, 256+len(m.Layout.Seats)*(len(enc.seats[0])+40))
	b = append(b, `{"event_id":"`...)
	b = append(b, id.String()...)
	b = append(b, `","status":`...)
	b = appendString(b, m.Event.Status)
	b = append(b, `,"currency":`...)
	b = appendString(b, m.Event.Currency)
	b = append(b, `,"generated_at":"`...)
	b = h.App.Now().UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","sections":`...)
	secs, _ := json.Marshal(sectionDTOs(counts))
	b = append(b, secs...)
	b = append(b, `,"seats":[`...)
	last, lastPrice := "", zero
	for i, st := range m.Layout.Seats {
		if i > 0 {
			b = append(b, ',')
		}
		if st.SectionID != last { // seats come grouped by section
			last, lastPrice = st.SectionID, zero
			if p, ok := price[st.SectionID]; ok {
				lastPrice = p
			}
		}
		b = append(b, enc.seats[i]...)
		b = append(b, m.StatusAt(i)...)
		b = append(b, `","price":`...)
		b = append(b, lastPrice...)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// sectionDTO and availabilityDTO answer the public and the internal availability alike.
type (
	sectionDTO      = inventoryapi.SectionCount
	availabilityDTO = inventoryapi.Availability
)

func sectionDTOs(a app.Availability) []sectionDTO {
	out := make([]sectionDTO, len(a.Sections))
	for i, s := range a.Sections {
		out[i] = sectionDTO{SectionID: s.SectionID, Name: s.Name, Price: s.Price, Capacity: s.Capacity,
			Available: s.Available, Held: s.Held, Sold: s.Sold}
	}
	return out
}

func (h *Handler) availability(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	m, err := h.App.SeatMap(c.Request().Context(), id)
	if err != nil {
		return err
	}
	a := m.Counts()
	return c.JSON(http.StatusOK, availabilityDTO{EventID: id, Status: a.Status, Currency: a.Currency,
		OnSale: m.Event.CheckOnSale(h.App.Now()) == nil, Sections: sectionDTOs(a), Capacity: a.Capacity,
		Available: a.Available, Held: a.Held, Sold: a.Sold})
}

// stream sends the event's seat changes as Server-Sent Events: "event: seats" with a JSON
// {type, hold_id, seat_ids} per change, "event: resync" when this client fell behind and
// lost changes (reload the map), and a comment line every SSE_HEARTBEAT. After
// SSE_MAX_DURATION the stream ends cleanly and the client reconnects.
func (h *Handler) stream(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := h.App.Event(ctx, id); err != nil {
		return err
	}
	if h.Hub == nil {
		return echo.ErrServiceUnavailable
	}
	sub, stop, err := h.Hub.Subscribe(ctx, id)
	if err != nil {
		return err
	}
	defer stop()
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.Header().Set(echo.HeaderConnection, "keep-alive")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 3000\n: connected\n\n")); err != nil {
		return nil
	}
	w.Flush()
	beat := time.NewTicker(h.Heartbeat)
	defer beat.Stop()
	var end <-chan time.Time
	if d := h.MaxStream; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		end = t.C
	}
	for {
		var chunk []byte
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return nil
		case msg := <-sub.C:
			chunk = append(append(append(chunk, "event: seats\ndata: "...), msg...), "\n\n"...)
		case <-beat.C:
			chunk = []byte(": ping\n\n")
		}
		if sub.Lost() {
			chunk = append(chunk, "event: resync\ndata: {}\n\n"...)
		}
		if _, err := w.Write(chunk); err != nil {
			return nil
		}
		w.Flush()
	}
}

// availableSeats lists the event's AVAILABLE seats in seat-map order, for the waitlist's
// offers: after a sell-out it is a few seats, where the full map is megabytes.
func (h *Handler) availableSeats(c echo.Context) error {
	id, err := httpserver.PathUUID(c, "id")
	if err != nil {
		return err
	}
	m, err := h.App.SeatMap(c.Request().Context(), id)
	if err != nil {
		return err
	}
	price := make(map[string]int64, len(m.Event.Sections))
	for _, sec := range m.Event.Sections {
		price[sec.ID] = sec.Price
	}
	out := inventoryapi.AvailableSeats{EventID: id, Seats: []inventoryapi.Seat{}}
	for i, st := range m.Layout.Seats {
		if m.StatusAt(i) == domain.SeatAvailable {
			out.Seats = append(out.Seats, inventoryapi.Seat{SeatID: st.ID, SectionID: st.SectionID, Row: st.Row,
				Number: st.Number, Label: st.Label, Price: price[st.SectionID]})
		}
	}
	return c.JSON(http.StatusOK, out)
}
