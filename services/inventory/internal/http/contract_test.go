package http

import (
	"testing"

	"evently.dev/libs/apperr"
	"evently.dev/libs/contracts/inventoryapi"

	"evently.dev/services/inventory/internal/domain"
)

// TestProblemCodesMatchContract keeps the codes inventory answers equal to the ones its
// callers act on: the sentinels live in the domain, the callers read the contract.
func TestProblemCodesMatchContract(t *testing.T) {
	for code, err := range map[string]*apperr.Error{
		inventoryapi.CodeEventNotFound:           domain.ErrEventNotFound,
		inventoryapi.CodeSeatNotFound:            domain.ErrSeatNotFound,
		inventoryapi.CodeSectionNotFound:         domain.ErrSectionNotFound,
		inventoryapi.CodeEventNotOnSale:          domain.ErrNotOnSale,
		inventoryapi.CodeSeatsUnavailable:        domain.ErrSeatsTaken,
		inventoryapi.CodeHoldLimitExceeded:       domain.ErrHoldLimit,
		inventoryapi.CodeHoldNotFound:            domain.ErrHoldNotFound,
		inventoryapi.CodeHoldExpired:             domain.ErrHoldExpired,
		inventoryapi.CodeHoldAlreadyCommitted:    domain.ErrHoldCommitted,
		inventoryapi.CodeBookingAlreadyCommitted: domain.ErrBookingUsed,
		inventoryapi.CodeEventMismatch:           domain.ErrEventMismatch,
	} {
		if err.Code != code {
			t.Errorf("domain answers %q where the contract says %q", err.Code, code)
		}
	}
	if domain.PurposeUser != inventoryapi.PurposeUser || domain.PurposeWaitlistOffer != inventoryapi.PurposeWaitlistOffer {
		t.Errorf("hold purposes differ from the contract")
	}
}
