// Package waitlisttest gives the waitlist's integration tests a migrated database of their
// own and the shared stand-in for inventory's internal API with one sold-out event.
// PostgreSQL is the real server; only inventory, another service, is stood in for.
package waitlisttest

import (
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts/inventoryapi/inventoryapitest"
	"evently.dev/libs/outbox"
	"evently.dev/libs/testkit"

	"evently.dev/services/waitlist/migrations"
)

// Secret signs the assertions between the service under test and the stand-in.
const Secret = "waitlist-test-secret"

// DB opens a fresh, migrated database.
func DB(t testing.TB) *bun.DB {
	t.Helper()
	return testkit.MigratedDB(t, "waitlist", outbox.Migrations, consumer.Migrations, migrations.FS)
}

// Inventory is the stand-in with the one event the waitlist's tests are about.
type Inventory struct {
	*inventoryapitest.Fake
	EventID uuid.UUID
}

// NewInventory starts a stand-in whose event has sections (ids) × rows × perRow seats, all
// SOLD; section i's seats are named like "A-R1-S1" with the i-th letter.
func NewInventory(t testing.TB, sections []string, rows, perRow int) *Inventory {
	t.Helper()
	f := inventoryapitest.New(t, Secret)
	return &Inventory{Fake: f, EventID: f.AddEvent(sections, rows, perRow, inventoryapitest.Sold)}
}

// Release makes the given seats of the event AVAILABLE (a cancelled booking).
func (inv *Inventory) Release(ids ...string) { inv.Free(inv.EventID, ids...) }

// Snapshot returns a copy of the event's seats.
func (inv *Inventory) Snapshot() []inventoryapitest.Seat { return inv.Seats(inv.EventID) }
