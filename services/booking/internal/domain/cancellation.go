package domain

import (
	"time"

	"github.com/google/uuid"
)

// CancellationStatus is the state of a cancellation request.
type CancellationStatus string

// Cancellation states.
const (
	CancellationPending   CancellationStatus = "PENDING"
	CancellationProcessed CancellationStatus = "PROCESSED"
	CancellationRejected  CancellationStatus = "REJECTED"
)

// ParseCancellationStatus accepts a cancellation status as clients spell it.
func ParseCancellationStatus(s string) (CancellationStatus, bool) {
	switch st := CancellationStatus(s); st {
	case CancellationPending, CancellationProcessed, CancellationRejected:
		return st, true
	}
	return "", false
}

// MaxReasonLen bounds a cancellation reason.
const MaxReasonLen = 500

// Cancellation is a request to cancel a booking, judged under a policy version when made.
type Cancellation struct {
	ID            uuid.UUID
	BookingID     uuid.UUID
	UserID        string
	EventID       uuid.UUID
	Status        CancellationStatus
	ReasonCode    string // contracts.CancelByUser or contracts.CancelEventCancelled
	Reason        string
	RefundPercent int
	Fee           int64
	Refund        int64
	Currency      string
	PolicyVersion int
	RequestedAt   time.Time
	ProcessedAt   *time.Time
	DecidedBy     string
	DecisionNote  string
}

// CancellationFilter selects cancellations for lists.
type CancellationFilter = ListFilter[CancellationStatus]
