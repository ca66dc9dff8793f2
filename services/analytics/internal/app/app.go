// Package app holds analytics' use cases: reading the reports and rebuilding the read
// models from the topics' history.
package app

import (
	"context"
	"time"

	"evently.dev/services/analytics/internal/domain"
)

// ReadModels are the pre-aggregated rows reports read.
type ReadModels interface {
	CurrentGeneration(ctx context.Context) (domain.Generation, error)
	Overview(ctx context.Context, gen int) (domain.Overview, error)
	EventReport(ctx context.Context, gen int, eventID string) (domain.EventReport, error)
	Revenue(ctx context.Context, gen int, q domain.RevenueQuery, limit, offset int) (domain.RevenueReport, error)
	Popular(ctx context.Context, gen int, by domain.PopularBy, currency string, limit int) ([]domain.PopularEvent, error)
	Live(ctx context.Context, gen int, now time.Time, minutes int) (domain.Live, error)
}
