package events

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"evently.dev/libs/consumer"
	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"

	"evently.dev/services/booking/internal/app"
	"evently.dev/services/booking/internal/domain"
	"evently.dev/services/booking/internal/store"
)

// GroupInventory is the consumer group reading inventory's topic for seats.sold: each sale
// is noted for the sales reconciler, which writes the booking of a sale whose request died
// between inventory's commit and the booking write (see app.ReconcileSales).
const GroupInventory = "booking-inventory"

// Inventory handles seats.sold from evently.inventory.seats.v1 inside the consumer's
// transaction tx: one INSERT per sale, so that every sale ends with its CONFIRMED booking.
func (h *Handlers) Inventory(ctx context.Context, tx bun.Tx, e kafka.Event) error {
	if e.Type != contracts.TypeSeatsSold {
		return nil
	}
	var p contracts.SeatsSold
	eventID, err := decode(e, &p, func() string { return p.EventID })
	if err != nil {
		return err
	}
	bookingID, err1 := uuid.Parse(p.BookingID)
	holdID, err2 := uuid.Parse(p.HoldID)
	if err1 != nil || err2 != nil || p.UserID == "" || len(p.Seats) == 0 {
		return consumer.Permanent(fmt.Errorf("%s %s: incomplete sale (booking %q, hold %q, user %q, %d seats)",
			e.Type, e.ID, p.BookingID, p.HoldID, p.UserID, len(p.Seats)))
	}
	seats := make([]domain.Seat, len(p.Seats))
	for i, s := range p.Seats {
		seats[i] = domain.Seat{SeatID: s.SeatID, SectionID: s.SectionID, Label: s.Label, Price: s.Price}
	}
	c := domain.Commit{HoldID: holdID, BookingID: bookingID, EventID: eventID, UserID: p.UserID, Seats: seats,
		TotalAmount: p.TotalAmount, Currency: p.Currency, CommittedAt: p.SoldAt.UTC()}
	if pending, ok := consumer.ScopeFrom(ctx).(*sales); ok {
		pending.commits = append(pending.commits, c)
		return nil
	}
	return h.App.RecordSales(ctx, store.New(tx), []domain.Commit{c})
}

// SalesScope is the Options.Scope of the consumer running Inventory: a batch's sales are
// noted in one statement when the batch ends.
func (h *Handlers) SalesScope() consumer.TxScope { return &sales{app: h.App} }

// sales is the seats.sold facts of one transaction not noted yet.
type sales struct {
	app     *app.Service
	commits []domain.Commit
}

// Flush notes the collected sales.
func (s *sales) Flush(ctx context.Context, tx bun.Tx) error {
	if len(s.commits) == 0 {
		return nil
	}
	return s.app.RecordSales(ctx, store.New(tx), s.commits)
}
