-- Booking's read model of catalog events: what cancellation needs (start time, status,
-- currency, the current policy and its version), fed only by evently.catalog.events.v1.
-- A row may exist before the catalog's facts arrive (status NULL): confirm inserts a stub
-- so it can lock the row against a concurrent event.cancelled (see app/confirm_booking.go).
CREATE TABLE events (
    id             uuid        PRIMARY KEY,
    name           text,
    status         text CHECK (status IN ('DRAFT', 'PUBLISHED', 'CANCELLED', 'COMPLETED')),
    starts_at      timestamptz,
    currency       char(3),
    event_version  integer     NOT NULL DEFAULT 0,
    policy         jsonb,
    policy_version integer     NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One booking per (hold, user): a retry or a second click finds the same row. The owner is
-- part of the key so that someone who learns another user's hold id cannot park a FAILED
-- booking on it and lock the owner out; the ledger (inventory commits, unique per hold)
-- still guarantees one sale per hold.
CREATE TABLE bookings (
    id                     uuid        PRIMARY KEY,
    booking_ref            text        NOT NULL,
    user_id                text        NOT NULL,
    hold_id                uuid        NOT NULL,
    idempotency_key        text,
    event_id               uuid,
    status                 text        NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'FAILED', 'CANCELLED')),
    seats                  jsonb       NOT NULL DEFAULT '[]',
    total_amount           bigint      NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
    currency               char(3),
    payment_provider       text        NOT NULL,
    payment_method         text        NOT NULL,
    payment_status         text CHECK (payment_status IN ('COMPLETED', 'REFUNDED', 'PARTIALLY_REFUNDED')),
    payment_transaction_id text,
    paid_at                timestamptz,
    refund_amount          bigint CHECK (refund_amount >= 0),
    refund_transaction_id  text,
    refunded_at            timestamptz,
    failure_code           text,
    failure_status         integer,
    failure_detail         text,
    version                integer     NOT NULL DEFAULT 1,
    attempts               integer     NOT NULL DEFAULT 0,
    next_attempt_at        timestamptz NOT NULL,
    created_at             timestamptz NOT NULL,
    confirmed_at           timestamptz,
    cancelled_at           timestamptz,
    updated_at             timestamptz NOT NULL,
    CONSTRAINT bookings_booking_ref_key UNIQUE (booking_ref),
    CONSTRAINT bookings_hold_key UNIQUE (hold_id, user_id),
    CONSTRAINT bookings_idempotency_key UNIQUE (user_id, idempotency_key),
    CHECK (status <> 'CONFIRMED' OR (event_id IS NOT NULL AND currency IS NOT NULL AND payment_status IS NOT NULL))
);

CREATE INDEX bookings_user_idx ON bookings (user_id, created_at DESC, id DESC);
CREATE INDEX bookings_event_idx ON bookings (event_id, status);
CREATE INDEX bookings_created_idx ON bookings (created_at DESC, id DESC);
-- The reconciler claims due PENDING bookings; the partial index stays tiny.
CREATE INDEX bookings_pending_idx ON bookings (next_attempt_at) WHERE status = 'PENDING';

-- A cancellation request and its judgement: refund and fee are computed when requested,
-- under the policy version stored here, and applied on approval.
CREATE TABLE cancellations (
    id               uuid        PRIMARY KEY,
    booking_id       uuid        NOT NULL REFERENCES bookings (id),
    user_id          text        NOT NULL,
    event_id         uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('PENDING', 'PROCESSED', 'REJECTED')),
    reason_code      text        NOT NULL,
    reason           text        NOT NULL DEFAULT '',
    refund_percent   integer     NOT NULL CHECK (refund_percent BETWEEN 0 AND 100),
    cancellation_fee bigint      NOT NULL CHECK (cancellation_fee >= 0),
    refund_amount    bigint      NOT NULL CHECK (refund_amount >= 0),
    currency         char(3)     NOT NULL,
    policy_version   integer     NOT NULL,
    requested_at     timestamptz NOT NULL,
    processed_at     timestamptz,
    decided_by       text,
    decision_note    text
);

-- At most one open (PENDING) or applied (PROCESSED) cancellation per booking.
CREATE UNIQUE INDEX cancellations_open_idx ON cancellations (booking_id) WHERE status IN ('PENDING', 'PROCESSED');
CREATE INDEX cancellations_user_idx ON cancellations (user_id, requested_at DESC, id DESC);
CREATE INDEX cancellations_status_idx ON cancellations (status, requested_at DESC, id DESC);
