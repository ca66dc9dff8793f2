package store

import (
	"context"
	"fmt"

	"evently.dev/libs/contracts"
	"evently.dev/libs/kafka"
	"evently.dev/libs/outbox"

	"evently.dev/services/inventory/internal/domain"
)

// Publish writes msgs to the outbox, on the inventory's topic, in one statement.
func (s *Store) Publish(ctx context.Context, msgs ...domain.Message) error {
	evs := make([]kafka.Event, len(msgs))
	for i, m := range msgs {
		e, err := kafka.NewEvent(contracts.TopicInventorySeats, m.Key, m.Type, Source, m.Payload)
		if err != nil {
			return fmt.Errorf("build %s: %w", m.Type, err)
		}
		if m.ID != "" {
			e.ID = m.ID
		}
		e.Headers = m.Trace
		evs[i] = e
	}
	return outbox.AddMany(ctx, s.db, evs)
}

// Published reports whether an event with this id is in the outbox.
func (s *Store) Published(ctx context.Context, id string) (bool, error) {
	ok, err := s.db.NewSelect().Table("outbox").Where("id = ?", id).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("find outbox row %s: %w", id, err)
	}
	return ok, nil
}
