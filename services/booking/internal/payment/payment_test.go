package payment

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
)

// TestSimulatedChargesOnceAndDeclinesOnDemand checks the simulator's two promises: a
// repeated charge of one booking answers the first receipt and counts once, and a charge
// with a configured method is declined with ErrDeclined (nothing charged).
func TestSimulatedChargesOnceAndDeclinesOnDemand(t *testing.T) {
	p, err := New("simulated", []string{"declined_card"})
	if err != nil {
		t.Fatal(err)
	}
	sim := p.(*Simulated)
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	first, err := sim.Charge(ctx, Charge{BookingID: id, Amount: 500, Currency: "EUR", Method: "card"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := sim.Charge(ctx, Charge{BookingID: id, Amount: 500, Currency: "EUR", Method: "card"})
	if err != nil || again != first || sim.Charges() != 1 {
		t.Fatalf("repeat: %+v (first %+v), %d charges, err %v", again, first, sim.Charges(), err)
	}
	_, err = sim.Charge(ctx, Charge{BookingID: uuid.Must(uuid.NewV7()), Amount: 500, Currency: "EUR", Method: "declined_card"})
	if !errors.Is(err, ErrDeclined) || sim.Charges() != 1 {
		t.Fatalf("declined method: err %v, %d charges", err, sim.Charges())
	}
	for range simulatedMemory + 1 {
		if _, err := sim.Charge(ctx, Charge{BookingID: uuid.New(), Amount: 1, Currency: "EUR", Method: "card"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(sim.charged) != simulatedMemory || len(sim.order) != simulatedMemory {
		t.Fatalf("memory holds %d receipts, want the last %d", len(sim.charged), simulatedMemory)
	}
}
