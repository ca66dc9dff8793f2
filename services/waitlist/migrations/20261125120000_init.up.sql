-- Events as catalog announces them: what emails and joins need (name, start, status, prices).
CREATE TABLE events (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL DEFAULT '',
    status     text        NOT NULL,
    venue_name text        NOT NULL DEFAULT '',
    starts_at  timestamptz,
    currency   text        NOT NULL DEFAULT '',
    -- [{section_id, name, price}]
    sections   jsonb       NOT NULL DEFAULT '[]',
    version    integer     NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Users as identity announces them, so the sender knows where to mail without calling identity.
CREATE TABLE users (
    id         text        PRIMARY KEY,
    email      text        NOT NULL,
    first_name text        NOT NULL DEFAULT '',
    last_name  text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per join. seq orders the queue (FIFO); a user has at most one live entry
-- (WAITING or OFFERED) per event.
CREATE TABLE entries (
    id               uuid        PRIMARY KEY,
    seq              bigint      GENERATED ALWAYS AS IDENTITY,
    event_id         uuid        NOT NULL,
    user_id          text        NOT NULL,
    section_id       text,
    quantity         integer     NOT NULL CHECK (quantity BETWEEN 1 AND 10),
    status           text        NOT NULL CHECK (status IN ('WAITING', 'OFFERED', 'CONVERTED', 'EXPIRED', 'CANCELLED')),
    joined_at        timestamptz NOT NULL,
    offered_at       timestamptz,
    hold_id          uuid,
    seat_ids         text[],
    offer_amount     bigint,
    offer_currency   text,
    offer_expires_at timestamptz,
    booking_id       uuid,
    ended_at         timestamptz,
    end_reason       text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX entries_one_live_per_user ON entries (event_id, user_id) WHERE status IN ('WAITING', 'OFFERED');
CREATE INDEX entries_queue ON entries (event_id, seq) WHERE status IN ('WAITING', 'OFFERED');
CREATE INDEX entries_event_status ON entries (event_id, status, seq);
CREATE UNIQUE INDEX entries_hold ON entries (hold_id) WHERE hold_id IS NOT NULL;

-- Events whose queue needs an offer round. Consumers bump version in their transaction;
-- the round worker deletes the row only if no newer request came in while it worked.
CREATE TABLE offer_rounds (
    event_id        uuid        PRIMARY KEY,
    version         bigint      NOT NULL DEFAULT 1,
    reason          text        NOT NULL DEFAULT '',
    requested_at    timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);
CREATE INDEX offer_rounds_due ON offer_rounds (next_attempt_at);

-- Every email, written in the same transaction as its cause and delivered by the sender
-- worker (PENDING → SENT, or FAILED after NOTIFY_MAX_ATTEMPTS). dedupe_key makes a
-- re-applied cause write no second email.
CREATE TABLE notifications (
    id              uuid        PRIMARY KEY,
    dedupe_key      text        NOT NULL UNIQUE,
    user_id         text        NOT NULL,
    event_id        uuid,
    kind            text        NOT NULL,
    subject         text        NOT NULL,
    body_text       text        NOT NULL,
    body_html       text        NOT NULL,
    recipient       text,
    status          text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'PENDING';
