package app

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// commitMetrics shows how well sales coalesce: batch sizes during a rush, and how often a
// batch had to be retried sale by sale (a refusal inside it).
type commitMetrics struct {
	size    metric.Int64Histogram
	batches metric.Int64Counter
}

func newCommitMetrics() commitMetrics {
	m := otel.GetMeterProvider().Meter("evently.dev/services/inventory")
	size, _ := m.Int64Histogram("inventory.commit.batch_size",
		metric.WithDescription("Sales committed per ledger transaction."), metric.WithUnit("{sale}"),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128, 256))
	batches, _ := m.Int64Counter("inventory.commit.batches",
		metric.WithDescription("Ledger transactions of sales by outcome: batch, single, fell_back."),
		metric.WithUnit("{transaction}"))
	return commitMetrics{size: size, batches: batches}
}

func (m commitMetrics) batch(size int, fellBack bool) {
	outcome := "batch"
	switch {
	case fellBack:
		outcome = "fell_back"
	case size == 1:
		outcome = "single"
	}
	ctx := context.Background()
	if m.size != nil {
		m.size.Record(ctx, int64(size))
	}
	if m.batches != nil {
		m.batches.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	}
}
