package domain

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"evently.dev/libs/apperr"
)

func ptr[T any](v T) *T { return &v }

func tiers(pairs ...int) *[]RefundTierInput {
	out := []RefundTierInput{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, RefundTierInput{HoursBefore: ptr(pairs[i]), RefundPercent: ptr(pairs[i+1])})
	}
	return &out
}

func fieldsOf(err error) map[string]bool {
	out := map[string]bool{}
	if ae, ok := apperr.As(err); ok {
		for _, f := range ae.Fields {
			out[f.Field] = true
		}
	}
	return out
}

func TestNextPolicyValidation(t *testing.T) {
	id := uuid.New()
	tests := []struct {
		name      string
		in        PolicyInput
		badFields []string
	}{
		{"defaults", PolicyInput{}, nil},
		{"fixed fee", PolicyInput{FeeType: ptr(FeeFixed), FeeAmount: ptr(int64(5000))}, nil},
		{"percentage fee", PolicyInput{FeeType: ptr(FeePercentage), FeeAmount: ptr(int64(100))}, nil},
		{"percentage over 100", PolicyInput{FeeType: ptr(FeePercentage), FeeAmount: ptr(int64(101))}, []string{"fee_amount"}},
		{"negative fixed", PolicyInput{FeeType: ptr(FeeFixed), FeeAmount: ptr(int64(-1))}, []string{"fee_amount"}},
		{"none with amount", PolicyInput{FeeType: ptr(FeeNone), FeeAmount: ptr(int64(1))}, []string{"fee_amount"}},
		{"unknown fee type", PolicyInput{FeeType: ptr("SOME")}, []string{"fee_type"}},
		{"bad deadline", PolicyInput{CancellationDeadline: ptr("tomorrow")}, []string{"cancellation_deadline"}},
		{"tiers ok", PolicyInput{RefundTiers: tiers(24, 50, 168, 100, 0, 0)}, nil},
		{"duplicate hours", PolicyInput{RefundTiers: tiers(24, 50, 24, 80)}, []string{"refund_tiers[1].hours_before"}},
		{"negative hours", PolicyInput{RefundTiers: tiers(-1, 50)}, []string{"refund_tiers[0].hours_before"}},
		{"percent over 100", PolicyInput{RefundTiers: tiers(5, 101)}, []string{"refund_tiers[0].refund_percent"}},
		{"missing tier fields", PolicyInput{RefundTiers: &[]RefundTierInput{{}}},
			[]string{"refund_tiers[0].hours_before", "refund_tiers[0].refund_percent"}},
		{"processing days", PolicyInput{RefundProcessingDays: ptr(-1)}, []string{"refund_processing_days"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NextPolicy(id, nil, tc.in)
			if len(tc.badFields) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if p.Version != 1 {
					t.Fatalf("version %d", p.Version)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindUnprocessable {
				t.Fatalf("want a 422 validation error, got %v", err)
			}
			got := fieldsOf(err)
			for _, f := range tc.badFields {
				if !got[f] {
					t.Errorf("no error on %s: %+v", f, ae.Fields)
				}
			}
		})
	}
}

func TestNextPolicyOrdersTiersAndVersions(t *testing.T) {
	id := uuid.New()
	p1, err := NextPolicy(id, nil, PolicyInput{RefundTiers: tiers(24, 50, 168, 100, 0, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if p1.RefundTiers[0].HoursBefore != 168 || p1.RefundTiers[1].HoursBefore != 24 || p1.RefundTiers[2].HoursBefore != 0 {
		t.Fatalf("tiers not ordered by hours desc: %+v", p1.RefundTiers)
	}
	if !p1.AllowCancellation || p1.FeeType != FeeNone || p1.RefundProcessingDays != DefaultRefundProcessingDays {
		t.Fatalf("defaults wrong: %+v", p1)
	}
	p2, err := NextPolicy(id, &p1, PolicyInput{FeeType: ptr(FeeFixed), FeeAmount: ptr(int64(5000))})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Version != 2 || len(p2.RefundTiers) != 3 || p2.FeeAmount != 5000 {
		t.Fatalf("update must keep unspecified fields and bump the version: %+v", p2)
	}
	p3, err := NextPolicy(id, &p2, PolicyInput{FeeType: ptr(FeeNone)})
	if err != nil || p3.FeeAmount != 0 {
		t.Fatalf("switching to NONE clears the amount: %+v %v", p3, err)
	}
	if _, err := NextPolicy(id, &p2, PolicyInput{FeeType: ptr(FeePercentage)}); err != nil {
		t.Fatalf("percentage with the amount reset to 0 is valid: %v", err)
	}
	if !errors.Is(ErrPolicyExists, ErrPolicyExists) {
		t.Fatal("sentinel")
	}
}
