package client

import (
	"errors"
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
