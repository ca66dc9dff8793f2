package app

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"evently.dev/libs/contracts"

	"evently.dev/services/catalog/internal/domain"
)

// SetPolicy creates (create=true: 409 if one exists) or changes (404 if none) an event's
// cancellation policy. Each call makes a new version and announces policy.updated, for
// drafts too.
func (a *Catalog) SetPolicy(ctx context.Context, eventID uuid.UUID, in domain.PolicyInput, create bool) (domain.Policy, error) {
	var out domain.Policy
	err := a.store.InTx(ctx, func(ctx context.Context, tx domain.Tx) error {
		e, err := tx.LockEvent(ctx, eventID)
		if err != nil {
			return err
		}
		if e.Status == domain.StatusCancelled || e.Status == domain.StatusCompleted {
			return domain.ErrEventStatus.WithDetail("the policy of a %s event cannot change", e.Status)
		}
		var prev *domain.Policy
		cur, err := tx.CurrentPolicy(ctx, eventID)
		switch {
		case err == nil:
			if create {
				return domain.ErrPolicyExists
			}
			prev = &cur
		case errors.Is(err, domain.ErrPolicyNotFound):
			if !create {
				return domain.ErrPolicyNotFound.WithDetail("the event has no cancellation policy; create it with POST")
			}
		default:
			return err
		}
		p, err := domain.NextPolicy(eventID, prev, in)
		if err != nil {
			return err
		}
		p.CreatedAt = a.now()
		if err := tx.InsertPolicy(ctx, p); err != nil {
			return err
		}
		out = p
		return tx.Publish(ctx, contracts.TypePolicyUpdated, eventID.String(), policyUpdatedEvent(p))
	})
	if err == nil {
		a.cache.Invalidate(ctx)
	}
	return out, err
}

// GetPolicy returns the current policy. Callers who are not admins see none for drafts.
func (a *Catalog) GetPolicy(ctx context.Context, eventID uuid.UUID, public bool) (domain.Policy, error) {
	e, err := a.store.GetEvent(ctx, eventID)
	if err != nil {
		return domain.Policy{}, err
	}
	if public && !isAdmin(ctx) && e.Status == domain.StatusDraft {
		return domain.Policy{}, domain.ErrEventNotFound
	}
	return a.store.CurrentPolicy(ctx, eventID)
}
