package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8080", "127.0.0.2:1", "127.0.0.1"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"10.0.0.1:80", "localhost:8080", "example.com:80", "[::1]:80", "0.0.0.0:80", "192.168.1.1:80"} {
		if err := CheckLoopback(bad); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s accepted (err %v)", bad, err)
		}
	}
}

func TestNewRefusesRemoteBase(t *testing.T) {
	if _, err := New("http://10.1.2.3:8080", 4); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("want ErrNotLoopback, got %v", err)
	}
}

// TestReadCountsSuccessAndKeepsProblems checks the browse runs' read: a 2xx body is counted
// and dropped, a problem answer is kept for its code, headers come through.
func TestReadCountsSuccessAndKeepsProblems(t *testing.T) {
	big := strings.Repeat("x", 3<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"not_found"}`)
			return
		}
		w.Header().Set("Content-Encoding", r.Header.Get("Accept-Encoding"))
		_, _ = io.WriteString(w, big)
	}))
	defer srv.Close()
	c, err := New(srv.URL, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, n, err := c.Read(context.Background(), "/map", "tok", "Accept-Encoding", "gzip")
	if err != nil || r.Status != 200 || n != int64(len(big)) || r.Body != nil || r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("2xx read: status %d, %d bytes, body kept %v, header %q, err %v", r.Status, n, r.Body != nil, r.Header.Get("Content-Encoding"), err)
	}
	r, n, err = c.Read(context.Background(), "/missing", "")
	if err != nil || r.Status != 404 || string(r.Body) != `{"code":"not_found"}` || n != int64(len(r.Body)) {
		t.Fatalf("problem read: status %d, body %q, n %d, err %v", r.Status, r.Body, n, err)
	}
}
