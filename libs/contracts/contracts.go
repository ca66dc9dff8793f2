// Package contracts is Evently's public Kafka contract: topic names, CloudEvents types,
// the Go payload types producers and consumers share, and the JSON Schema each payload
// must satisfy. Schemas only grow (optional fields) within a v1 topic.
package contracts

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Topics, keyed by the show's event id (the user id on the identity topic).
const (
	TopicIdentityUsers   = "evently.identity.users.v1"
	TopicCatalogEvents   = "evently.catalog.events.v1"
	TopicInventorySeats  = "evently.inventory.seats.v1"
	TopicBookingBookings = "evently.booking.bookings.v1"
	TopicWaitlist        = "evently.waitlist.v1"
)

// Topics lists every topic the system publishes, for creation and documentation.
var Topics = []string{TopicIdentityUsers, TopicCatalogEvents, TopicInventorySeats, TopicBookingBookings, TopicWaitlist}

//go:embed schemas/*.json
var schemaFiles embed.FS

//go:embed asyncapi.yaml
var asyncAPI []byte

// AsyncAPI returns the AsyncAPI document describing every topic and message.
func AsyncAPI() []byte { return asyncAPI }

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func compile() {
	compiled = map[string]*jsonschema.Schema{}
	c := jsonschema.NewCompiler()
	entries, err := fs.ReadDir(schemaFiles, "schemas")
	if err != nil {
		compileErr = err
		return
	}
	for _, e := range entries {
		b, err := schemaFiles.ReadFile("schemas/" + e.Name())
		if err != nil {
			compileErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			compileErr = fmt.Errorf("schema %s: %w", e.Name(), err)
			return
		}
		if err := c.AddResource(e.Name(), doc); err != nil {
			compileErr = fmt.Errorf("schema %s: %w", e.Name(), err)
			return
		}
	}
	for _, e := range entries {
		s, err := c.Compile(e.Name())
		if err != nil {
			compileErr = fmt.Errorf("schema %s: %w", e.Name(), err)
			return
		}
		compiled[strings.TrimSuffix(e.Name(), ".json")] = s
	}
}

// Types lists every CloudEvents type that has a schema.
func Types() []string {
	compileOnce.Do(compile)
	out := make([]string, 0, len(compiled))
	for k := range compiled {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Schema returns the raw JSON Schema of a CloudEvents type.
func Schema(ceType string) ([]byte, bool) {
	b, err := schemaFiles.ReadFile("schemas/" + ceType + ".json")
	return b, err == nil
}

// Validate checks a payload against its type's schema. An unknown type is an error:
// every published type must have a schema.
func Validate(ceType string, data []byte) error {
	compileOnce.Do(compile)
	if compileErr != nil {
		return compileErr
	}
	s, ok := compiled[ceType]
	if !ok {
		return fmt.Errorf("no schema for event type %q", ceType)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s payload is not JSON: %w", ceType, err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("%s payload breaks its schema: %w", ceType, err)
	}
	return nil
}

// ValidateValue marshals v and validates it, for producers checking before they write.
func ValidateValue(ceType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return Validate(ceType, b)
}
