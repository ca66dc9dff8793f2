package http

import (
	"time"

	"github.com/google/uuid"

	"evently.dev/services/booking/internal/domain"
)

// confirmBody is the confirm request as clients send it; pointers tell absent from empty.
type confirmBody struct {
	HoldID        string  `json:"hold_id"`
	EventID       *string `json:"event_id"`
	PaymentMethod *string `json:"payment_method"`
}

// reasonBody is the optional body of cancel, request-cancel, approve and reject.
type reasonBody struct {
	Reason *string `json:"reason"`
}

type seatDTO struct {
	SeatID    string `json:"seat_id"`
	SectionID string `json:"section_id"`
	Row       string `json:"row,omitempty"`
	Number    int    `json:"number,omitempty"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
}

type paymentDTO struct {
	Provider            string     `json:"provider"`
	Status              string     `json:"status,omitempty"`
	Amount              int64      `json:"amount"`
	Currency            string     `json:"currency,omitempty"`
	Method              string     `json:"method"`
	TransactionID       string     `json:"transaction_id,omitempty"`
	PaidAt              *time.Time `json:"paid_at,omitempty"`
	RefundAmount        *int64     `json:"refund_amount,omitempty"`
	RefundTransactionID string     `json:"refund_transaction_id,omitempty"`
	RefundedAt          *time.Time `json:"refunded_at,omitempty"`
}

type failureDTO struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// bookingDTO is the booking object of API.md.
type bookingDTO struct {
	BookingID   string      `json:"booking_id"`
	BookingRef  string      `json:"booking_ref"`
	Status      string      `json:"status"`
	EventID     *string     `json:"event_id"`
	UserID      string      `json:"user_id"`
	HoldID      string      `json:"hold_id"`
	Seats       []seatDTO   `json:"seats"`
	TotalAmount int64       `json:"total_amount"`
	Currency    string      `json:"currency,omitempty"`
	TotalSeats  int         `json:"total_seats"`
	Version     int         `json:"version"`
	Payment     paymentDTO  `json:"payment"`
	Failure     *failureDTO `json:"failure,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	ConfirmedAt *time.Time  `json:"confirmed_at,omitempty"`
	CancelledAt *time.Time  `json:"cancelled_at,omitempty"`
}

func toBookingDTO(b domain.Booking) bookingDTO {
	out := bookingDTO{BookingID: b.ID.String(), BookingRef: b.Ref, Status: string(b.Status), UserID: b.UserID,
		HoldID: b.HoldID.String(), Seats: make([]seatDTO, len(b.Seats)), TotalAmount: b.TotalAmount,
		Currency: b.Currency, TotalSeats: len(b.Seats), Version: b.Version, CreatedAt: b.CreatedAt,
		ConfirmedAt: b.ConfirmedAt, CancelledAt: b.CancelledAt,
		Payment: paymentDTO{Provider: b.Payment.Provider, Status: b.Payment.Status, Amount: b.Payment.Amount,
			Currency: b.Payment.Currency, Method: b.Payment.Method, TransactionID: b.Payment.TransactionID,
			PaidAt: b.Payment.PaidAt, RefundAmount: b.Payment.RefundAmount,
			RefundTransactionID: b.Payment.RefundTxID, RefundedAt: b.Payment.RefundedAt}}
	if b.EventID != uuid.Nil {
		id := b.EventID.String()
		out.EventID = &id
	}
	for i, s := range b.Seats {
		out.Seats[i] = seatDTO{SeatID: s.SeatID, SectionID: s.SectionID, Row: s.Row, Number: s.Number,
			Label: s.Label, Price: s.Price}
	}
	if b.Failure != nil {
		out.Failure = &failureDTO{Code: b.Failure.Code, Detail: b.Failure.Detail}
	}
	return out
}

// cancellationDTO is the cancellation object of API.md.
type cancellationDTO struct {
	ID              string     `json:"id"`
	BookingID       string     `json:"booking_id"`
	EventID         string     `json:"event_id"`
	UserID          string     `json:"user_id"`
	Status          string     `json:"status"`
	CancellationFee int64      `json:"cancellation_fee"`
	RefundAmount    int64      `json:"refund_amount"`
	RefundPercent   int        `json:"refund_percent"`
	Currency        string     `json:"currency"`
	ReasonCode      string     `json:"reason_code"`
	Reason          string     `json:"reason"`
	PolicyVersion   int        `json:"policy_version"`
	RequestedAt     time.Time  `json:"requested_at"`
	ProcessedAt     *time.Time `json:"processed_at"`
	DecidedBy       string     `json:"decided_by,omitempty"`
	DecisionNote    string     `json:"decision_note,omitempty"`
}

func toCancellationDTO(c domain.Cancellation) cancellationDTO {
	return cancellationDTO{ID: c.ID.String(), BookingID: c.BookingID.String(), EventID: c.EventID.String(),
		UserID: c.UserID, Status: string(c.Status), CancellationFee: c.Fee, RefundAmount: c.Refund,
		RefundPercent: c.RefundPercent, Currency: c.Currency, ReasonCode: c.ReasonCode, Reason: c.Reason,
		PolicyVersion: c.PolicyVersion, RequestedAt: c.RequestedAt, ProcessedAt: c.ProcessedAt,
		DecidedBy: c.DecidedBy, DecisionNote: c.DecisionNote}
}

// cancelDTO answers cancel, request-cancel, approve and reject.
type cancelDTO struct {
	Booking      bookingDTO      `json:"booking"`
	Cancellation cancellationDTO `json:"cancellation"`
}
