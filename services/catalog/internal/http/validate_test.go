package http_test

import (
	"testing"

	"evently.dev/libs/contracts"
)

func validate(t *testing.T, ceType string, payload []byte) {
	t.Helper()
	if err := contracts.Validate(ceType, payload); err != nil {
		t.Fatalf("%s does not match its schema: %v\n%s", ceType, err, payload)
	}
}
