package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/apperr"
	"evently.dev/libs/httpserver"
)

// ParkedRow is a parked outbox row as the admin listing shows it; the payload is left out
// (it may be the very thing too large to send).
type ParkedRow struct {
	ID        string    `json:"id" bun:"id"`
	Topic     string    `json:"topic" bun:"topic"`
	Key       string    `json:"key" bun:"key"`
	Type      string    `json:"type" bun:"type"`
	CreatedAt time.Time `json:"created_at" bun:"created_at"`
	ParkedAt  time.Time `json:"parked_at" bun:"parked_at"`
	Attempts  int       `json:"attempts" bun:"attempts"`
	Failures  int       `json:"failures" bun:"failures"`
	LastError string    `json:"last_error" bun:"last_error"`
	// PayloadBytes is the payload's size, which tells a too-large row at a glance.
	PayloadBytes int `json:"payload_bytes" bun:"payload_bytes"`
}

// Parked lists up to limit parked rows of db's schema, oldest parked first, and how many
// are parked in all.
func Parked(ctx context.Context, db bun.IDB, limit int) ([]ParkedRow, int, error) {
	rows := []ParkedRow{}
	err := db.NewRaw(`SELECT id::text AS id, topic, key, type, created_at, parked_at, attempts, failures,
			coalesce(last_error, '') AS last_error, octet_length(payload::text) AS payload_bytes
		FROM outbox WHERE parked_at IS NOT NULL
		ORDER BY outbox.parked_at, outbox.id LIMIT ?`, limit).Scan(ctx, &rows)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox parked: %w", err)
	}
	var total int
	if err := db.NewRaw(`SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL`).Scan(ctx, &total); err != nil {
		return nil, 0, fmt.Errorf("outbox parked: count: %w", err)
	}
	return rows, total, nil
}

// Redrive makes parked rows due again, with their failure count reset, and wakes the
// relay: the ids given, or every parked row when ids is empty. It returns the ids it
// re-drove; an id that is not parked (unknown, already sent or re-driven) is left alone.
// A re-driven row is published after its key's later events (see "Failing rows" above),
// and parks again after MaxAttempts if its cause was not fixed.
func Redrive(ctx context.Context, db bun.IDB, ids ...string) ([]string, error) {
	q := `UPDATE outbox SET parked_at = NULL, failures = 0, next_attempt_at = NULL
		WHERE parked_at IS NOT NULL`
	args := []any{}
	if len(ids) > 0 {
		q += ` AND id IN (?)`
		args = append(args, bun.List(ids))
	}
	var done []string
	if err := db.NewRaw(q+` RETURNING id::text`, args...).Scan(ctx, &done); err != nil {
		return nil, fmt.Errorf("outbox redrive: %w", err)
	}
	if len(done) > 0 {
		if _, err := db.ExecContext(ctx, "SELECT pg_notify(? || current_schema(), '')", channelPrefix); err != nil {
			return done, fmt.Errorf("outbox redrive: notify: %w", err)
		}
	}
	if done == nil {
		done = []string{}
	}
	return done, nil
}

// AdminPrefix is the path under which AdminHandler serves; mount the handler there on the
// admin listener, never on a public one: re-driving is an operator's act.
const AdminPrefix = "/outbox/"

// AdminHandler serves the operators' routes for parked rows of db's schema:
//
//	GET  /outbox/parked[?limit=N]      the parked rows (default 100, at most 1000) and their total
//	POST /outbox/parked/redrive        re-drive every parked row
//	POST /outbox/parked/{id}/redrive   re-drive one row (404 unless it is parked)
func AdminHandler(db *bun.DB, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	a := admin{db: db, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /outbox/parked", a.list)
	mux.HandleFunc("POST /outbox/parked/redrive", a.redriveAll)
	mux.HandleFunc("POST /outbox/parked/{id}/redrive", a.redriveOne)
	return mux
}

type admin struct {
	db  *bun.DB
	log *slog.Logger
}

// parkedList is the listing's body.
type parkedList struct {
	Items []ParkedRow `json:"items"`
	Total int         `json:"total"`
}

// redriven is the body of both re-drive routes.
type redriven struct {
	Redriven int      `json:"redriven"`
	IDs      []string `json:"ids"`
}

func (a admin) list(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			a.problem(w, r, apperr.New(apperr.KindInvalid, "invalid_limit", "limit must be an integer from 1 to 1000"))
			return
		}
		limit = n
	}
	rows, total, err := Parked(r.Context(), a.db, limit)
	if err != nil {
		a.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, parkedList{Items: rows, Total: total})
}

func (a admin) redriveAll(w http.ResponseWriter, r *http.Request) {
	ids, err := Redrive(r.Context(), a.db)
	if err != nil {
		a.problem(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "outbox rows re-driven", "count", len(ids))
	writeJSON(w, http.StatusOK, redriven{Redriven: len(ids), IDs: ids})
}

func (a admin) redriveOne(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		a.problem(w, r, apperr.New(apperr.KindInvalid, "invalid_id", "id must be a UUID"))
		return
	}
	ids, err := Redrive(r.Context(), a.db, id.String())
	if err != nil {
		a.problem(w, r, err)
		return
	}
	if len(ids) == 0 {
		a.problem(w, r, apperr.New(apperr.KindNotFound, "not_parked", "no parked outbox row has this id"))
		return
	}
	a.log.InfoContext(r.Context(), "outbox row re-driven", "id", ids[0])
	writeJSON(w, http.StatusOK, redriven{Redriven: 1, IDs: ids})
}

// problem writes err as problem+json; server-side failures are logged, not shown.
func (a admin) problem(w http.ResponseWriter, r *http.Request, err error) {
	p := httpserver.ToProblem(err)
	if p.Status >= http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "outbox admin", "path", r.URL.Path, "error", err)
	}
	w.Header().Set("Content-Type", httpserver.ProblemContentType)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
