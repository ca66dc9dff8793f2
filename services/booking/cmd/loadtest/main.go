// Command loadtest measures confirmed bookings per second and confirm latency through the
// gateway of a running system (`make start`). It is bounded (a fixed number of seats and
// workers) and refuses any gateway that is not on the loopback interface.
//
//	go run ./cmd/loadtest -base http://127.0.0.1:8080 -workers 32 -seats 2000
//
// Each worker signs up its own user, then repeatedly holds the next free seat and confirms
// it; the report gives bookings/s and the p50/p90/p99 of POST /bookings/confirm (and of the
// whole hold+confirm round).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type client struct {
	base string
	http *http.Client
}

func (c *client) do(method, path, token string, body any, out any, headers ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, err
		}
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, nil
}

func run() error {
	base := flag.String("base", "http://127.0.0.1:8080", "gateway base URL (loopback only)")
	workers := flag.Int("workers", 32, "concurrent clients, each its own user")
	seats := flag.Int("seats", 2000, "seats to sell (rows of 100)")
	adminEmail := flag.String("admin-email", "admin@evently.local", "bootstrap admin email")
	adminPassword := flag.String("admin-password", "evently-admin", "bootstrap admin password")
	flag.Parse()
	u, err := url.Parse(*base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		return fmt.Errorf("refusing non-loopback gateway %q", u.Host)
	}
	rows := (*seats + 99) / 100
	if rows > 26 {
		return errors.New("at most 2600 seats")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *workers * 2
	c := &client{base: *base, http: &http.Client{Timeout: 30 * time.Second, Transport: tr}}

	var session struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := c.do("POST", "/api/v1/auth/login", "", map[string]string{"email": *adminEmail, "password": *adminPassword}, &session); err != nil {
		return err
	}
	admin := session.AccessToken
	var tpl struct {
		ID       string `json:"id"`
		Sections []struct {
			ID string `json:"id"`
		} `json:"sections"`
	}
	suffix := time.Now().Format("150405.000")
	if _, err := c.do("POST", "/api/v1/admin/venue-templates", admin, map[string]any{"name": "Load " + suffix,
		"layout_type": "THEATER", "sections": []any{map[string]any{"name": "Floor", "row_start": "A",
			"row_end": string(rune('A' + rows - 1)), "seats_per_row": 100}}}, &tpl); err != nil {
		return err
	}
	start := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	var ev struct {
		ID       string `json:"id"`
		Sections []struct {
			Code string `json:"code"`
		} `json:"sections"`
	}
	if _, err := c.do("POST", "/api/v1/admin/events", admin, map[string]any{"name": "Load " + suffix,
		"description": "load test", "category": "loadtest", "tags": []string{"loadtest"}, "venue_template_id": tpl.ID,
		"date_time": start.Format(time.RFC3339), "end_time": start.Add(2 * time.Hour).Format(time.RFC3339),
		"base_price": 5000, "currency": "EUR", "hold_limit_per_user": 8, "status": "PUBLISHED"}, &ev); err != nil {
		return err
	}
	code := ev.Sections[0].Code
	var ids []string
	for r := range rows {
		for n := 1; n <= 100 && len(ids) < *seats; n++ {
			ids = append(ids, fmt.Sprintf("%s-R%c-S%d", code, 'A'+r, n))
		}
	}
	tokens := make([]string, *workers)
	for i := range tokens {
		var s struct {
			AccessToken string `json:"access_token"`
		}
		// Registration is rate-limited per client IP: a distinct X-Forwarded-For helps when
		// the gateway trusts loopback as a proxy; otherwise wait out the 429s.
		for {
			st, err := c.do("POST", "/api/v1/auth/register", "", map[string]string{"first_name": "Load", "last_name": "Test",
				"email": fmt.Sprintf("load-%s-%d@example.com", suffix, i), "password": "load-test-password"}, &s,
				"X-Forwarded-For", fmt.Sprintf("10.77.%d.%d", i/250, i%250+1))
			if st == http.StatusTooManyRequests {
				time.Sleep(2 * time.Second)
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		tokens[i] = s.AccessToken
	}
	// Wait until inventory sells the event.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var h struct {
			HoldID string `json:"hold_id"`
		}
		st, err := c.do("POST", "/api/v1/seats/hold", tokens[0], map[string]any{"event_id": ev.ID, "seat_ids": []string{ids[0]}}, &h)
		if err == nil {
			_, _ = c.do("DELETE", "/api/v1/seats/hold/"+h.HoldID, tokens[0], nil, nil)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("event never went on sale: %d %w", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var next atomic.Int64
	var mu sync.Mutex
	var confirmLat, roundLat []time.Duration
	failures := map[string]int{}
	var wg sync.WaitGroup
	began := time.Now()
	for w := range *workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				t0 := time.Now()
				var h struct {
					HoldID string `json:"hold_id"`
				}
				if st, err := c.do("POST", "/api/v1/seats/hold", tokens[w], map[string]any{"event_id": ev.ID, "seat_ids": []string{ids[i]}}, &h); err != nil {
					mu.Lock()
					failures[fmt.Sprintf("hold %d", st)]++
					mu.Unlock()
					continue
				}
				t1 := time.Now()
				st, err := c.do("POST", "/api/v1/bookings/confirm", tokens[w], map[string]any{"hold_id": h.HoldID}, nil)
				t2 := time.Now()
				mu.Lock()
				if err != nil {
					failures[fmt.Sprintf("confirm %d", st)]++
				} else {
					confirmLat = append(confirmLat, t2.Sub(t1))
					roundLat = append(roundLat, t2.Sub(t0))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	slices.Sort(confirmLat)
	slices.Sort(roundLat)
	fmt.Printf("workers=%d seats=%d confirmed=%d failures=%v elapsed=%s\n", *workers, len(ids), len(confirmLat), failures, elapsed.Round(time.Millisecond))
	fmt.Printf("confirmed bookings/s: %.1f\n", float64(len(confirmLat))/elapsed.Seconds())
	fmt.Printf("confirm latency  p50=%s p90=%s p99=%s max=%s\n", pct(confirmLat, 50), pct(confirmLat, 90), pct(confirmLat, 99), pct(confirmLat, 100))
	fmt.Printf("hold+confirm     p50=%s p90=%s p99=%s\n", pct(roundLat, 50), pct(roundLat, 90), pct(roundLat, 99))
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p+99)/100 - 1
	return d[max(0, min(i, len(d)-1))].Round(100 * time.Microsecond)
}
