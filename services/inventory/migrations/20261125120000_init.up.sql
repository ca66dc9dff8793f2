-- Published events as the inventory sells them. layout is catalog's compact layout
-- (sections → row runs), kept so every replica can expand the seat map in memory.
CREATE TABLE events (
    id                  uuid        PRIMARY KEY,
    name                text        NOT NULL DEFAULT '',
    status              text        NOT NULL CHECK (status IN ('PUBLISHED', 'CANCELLED', 'COMPLETED')),
    currency            char(3)     NOT NULL,
    hold_limit_per_user integer     NOT NULL DEFAULT 0,
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    sale_starts_at      timestamptz,
    sale_ends_at        timestamptz,
    capacity            integer     NOT NULL,
    version             integer     NOT NULL DEFAULT 0,
    layout              jsonb       NOT NULL,
    published_at        timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Prices and absolute sold counts per section; sold is kept in the same transaction as
-- the seats it counts, so seats.sold/seats.released carry exact absolute numbers.
CREATE TABLE sections (
    event_id   uuid    NOT NULL REFERENCES events (id),
    section_id text    NOT NULL,
    position   integer NOT NULL,
    code       text    NOT NULL,
    name       text    NOT NULL,
    price      bigint  NOT NULL CHECK (price >= 0),
    capacity   integer NOT NULL,
    sold       integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    PRIMARY KEY (event_id, section_id)
);

-- The seat ledger: the truth about sold seats. A seat goes AVAILABLE → SOLD only through a
-- conditional UPDATE whose row count must match, so it is never sold twice.
CREATE TABLE seats (
    event_id   uuid        NOT NULL,
    seat_id    text        NOT NULL,
    section_id text        NOT NULL,
    row        text        NOT NULL,
    number     integer     NOT NULL,
    label      text        NOT NULL,
    x          real        NOT NULL,
    y          real        NOT NULL,
    price      bigint      NOT NULL,
    status     text        NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE', 'SOLD', 'CLOSED')),
    booking_id uuid,
    version    integer     NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, seat_id),
    CHECK ((status = 'SOLD') = (booking_id IS NOT NULL) OR status = 'CLOSED')
);

-- Releasing a booking finds its seats by booking id.
CREATE INDEX seats_booking_idx ON seats (booking_id) WHERE booking_id IS NOT NULL;
-- Rebuilding the Redis sold set reads only the seats that cannot be held.
CREATE INDEX seats_unavailable_idx ON seats (event_id) WHERE status <> 'AVAILABLE';

-- One row per committed hold: makes commit idempotent by hold id and by booking id, and
-- answers retries after the Redis hold is gone.
CREATE TABLE commits (
    hold_id      uuid        PRIMARY KEY,
    booking_id   uuid        NOT NULL UNIQUE,
    event_id     uuid        NOT NULL,
    user_id      text        NOT NULL,
    seats        jsonb       NOT NULL,
    total_amount bigint      NOT NULL,
    currency     char(3)     NOT NULL,
    committed_at timestamptz NOT NULL
);
