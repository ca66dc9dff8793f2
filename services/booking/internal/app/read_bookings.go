package app

import (
	"context"

	"github.com/google/uuid"

	"evently.dev/libs/assertion"

	"evently.dev/services/booking/internal/domain"
)

// GetBooking returns a booking to its owner or an admin; anyone else gets 404, so ids of
// other people's bookings cannot be probed.
func (s *Service) GetBooking(ctx context.Context, caller assertion.Identity, id uuid.UUID) (domain.Booking, error) {
	b, ok, err := s.Repo.Booking(ctx, id, false)
	if err != nil {
		return domain.Booking{}, err
	}
	if !ok || !b.VisibleTo(caller.UserID, caller.IsAdmin()) {
		return domain.Booking{}, domain.ErrBookingNotFound
	}
	return b, nil
}

// ListBookings lists bookings newest first; callers set the filter (own or admin's).
func (s *Service) ListBookings(ctx context.Context, f domain.BookingFilter) ([]domain.Booking, int, error) {
	return s.Repo.Bookings(ctx, f)
}

// GetCancellation returns a cancellation to its owner or an admin.
func (s *Service) GetCancellation(ctx context.Context, caller assertion.Identity, id uuid.UUID) (domain.Cancellation, error) {
	c, ok, err := s.Repo.Cancellation(ctx, id, false)
	if err != nil {
		return domain.Cancellation{}, err
	}
	if !ok || (!caller.IsAdmin() && c.UserID != caller.UserID) {
		return domain.Cancellation{}, domain.ErrCancellationNotFound
	}
	return c, nil
}

// ListCancellations lists cancellations newest first.
func (s *Service) ListCancellations(ctx context.Context, f domain.CancellationFilter) ([]domain.Cancellation, int, error) {
	return s.Repo.Cancellations(ctx, f)
}
