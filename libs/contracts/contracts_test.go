package contracts

import (
	"strings"
	"testing"
	"time"
)

func TestEveryTypeHasASchemaAndAnAsyncAPIEntry(t *testing.T) {
	types := Types()
	if len(types) == 0 {
		t.Fatal("no schemas embedded")
	}
	for _, typ := range types {
		if !strings.Contains(string(AsyncAPI()), "name: "+typ) {
			t.Errorf("%s has a schema but no AsyncAPI message", typ)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := UserRegistered{UserID: "0192a5d2-0000-7000-8000-000000000001", Email: "a@b.c", FirstName: "A",
		LastName: "B", Role: "USER", RegisteredAt: time.Now().UTC()}
	if err := ValidateValue(TypeUserRegistered, ok); err != nil {
		t.Fatalf("valid payload refused: %v", err)
	}
	bad := ok
	bad.Role = "ROOT"
	if err := ValidateValue(TypeUserRegistered, bad); err == nil {
		t.Fatal("invalid role accepted")
	}
	if err := Validate(TypeUserRegistered, []byte(`{"user_id":`)); err == nil {
		t.Fatal("malformed JSON accepted")
	}
	if err := Validate("evently.nothing.v1", []byte(`{}`)); err == nil {
		t.Fatal("unknown type accepted")
	}
}
