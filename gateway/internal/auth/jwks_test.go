package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func jwksServer(t *testing.T, kids *atomic.Value) (*httptest.Server, *atomic.Int64) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	x := base64.RawURLEncoding.EncodeToString(pub)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body := `{"keys":[`
		for i, kid := range kids.Load().([]string) {
			if i > 0 {
				body += ","
			}
			body += fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":%q,"kid":%q,"alg":"EdDSA","use":"sig"}`, x, kid)
		}
		_, _ = w.Write([]byte(body + `]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestJWKSRefetchesOnUnknownKidAtMostOncePerInterval(t *testing.T) {
	var kids atomic.Value
	kids.Store([]string{"k1"})
	srv, hits := jwksServer(t, &kids)
	j := NewJWKS(JWKSOptions{URL: srv.URL, MinInterval: time.Hour})
	ctx := context.Background()
	if _, err := j.Key(ctx, "k1"); err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits %d", hits.Load())
	}
	// A flood of made-up kids from many goroutines costs identity at most one more fetch.
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := j.Key(ctx, fmt.Sprintf("garbage-%d", i)); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("garbage kid: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if hits.Load() > 2 {
		t.Fatalf("garbage kids caused %d fetches", hits.Load())
	}
	if _, err := j.Key(ctx, "k1"); err != nil {
		t.Fatal("known key lost")
	}
}

func TestJWKSPicksUpRotatedKey(t *testing.T) {
	var kids atomic.Value
	kids.Store([]string{"k1"})
	srv, _ := jwksServer(t, &kids)
	j := NewJWKS(JWKSOptions{URL: srv.URL, MinInterval: 0})
	ctx := context.Background()
	if _, err := j.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	kids.Store([]string{"k2", "k1"})
	if _, err := j.Key(ctx, "k2"); err != nil {
		t.Fatalf("rotated key not fetched: %v", err)
	}
}

// A gateway that loaded an empty key set (identity up, no key made yet) must not wait
// MinInterval once the first key appears: every signed-in request would be refused.
func TestJWKSRecoversQuicklyFromAnEmptyKeySet(t *testing.T) {
	var kids atomic.Value
	kids.Store([]string{})
	srv, _ := jwksServer(t, &kids)
	j := NewJWKS(JWKSOptions{URL: srv.URL, MinInterval: time.Hour})
	ctx := context.Background()
	if _, err := j.Key(ctx, "k1"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("empty set: %v", err)
	}
	if j.Loaded() {
		t.Fatal("an empty key set must not count as loaded")
	}
	kids.Store([]string{"k1"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := j.Key(ctx, "k1"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first real key was not picked up: the hour-long MinInterval applied to an empty set")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !j.Loaded() {
		t.Fatal("Loaded must report true once a key arrived")
	}
}
