-- Analytics read models. Every row carries the generation ("gen") it was built in: the
-- serving generation's rows answer queries, and `analytics rebuild` fills gen+1 from the
-- beginning of every topic beside it, then switches over in one transaction (see
-- generation). Unqualified names: the search_path selects the analytics schema.

-- generation is a single row: which generation serves queries, which one a rebuild is
-- building, and the reporting time zone the serving generation's buckets were cut in.
CREATE TABLE generation (
    id                  boolean     PRIMARY KEY DEFAULT true CHECK (id),
    serving             integer     NOT NULL,
    timezone            text,
    building            integer,
    building_timezone   text,
    building_started_at timestamptz,
    switched_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO generation (id, serving) VALUES (true, 1);

-- events: one row per show, from catalog (name, category, capacity), inventory (ledger
-- counts, holds) and waitlist (queue length, offers), plus the booking-side net seats sold.
-- A row may be created by whichever topic mentions the show first (status UNKNOWN until
-- catalog's event.published arrives), because topics are not ordered against each other.
CREATE TABLE events (
    gen              integer     NOT NULL,
    event_id         uuid        NOT NULL,
    name             text        NOT NULL DEFAULT '',
    category         text        NOT NULL DEFAULT '',
    status           text        NOT NULL DEFAULT 'UNKNOWN',
    currency         text        NOT NULL DEFAULT '',
    starts_at        timestamptz,
    catalog_version  integer     NOT NULL DEFAULT 0,
    published_at     timestamptz,
    cancelled_at     timestamptz,
    capacity         integer     NOT NULL DEFAULT 0,
    seats_sold       integer     NOT NULL DEFAULT 0,
    ledger_sold      integer     NOT NULL DEFAULT 0,
    holds_created    bigint      NOT NULL DEFAULT 0,
    holds_converted  bigint      NOT NULL DEFAULT 0,
    holds_expired    bigint      NOT NULL DEFAULT 0,
    holds_released   bigint      NOT NULL DEFAULT 0,
    waitlist_length  integer     NOT NULL DEFAULT 0,
    waitlist_joined  bigint      NOT NULL DEFAULT 0,
    waitlist_left    bigint      NOT NULL DEFAULT 0,
    offers_made      bigint      NOT NULL DEFAULT 0,
    offers_converted bigint      NOT NULL DEFAULT 0,
    offers_expired   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, event_id)
);

-- event_sales: booking-side money and counts per show and currency (money is never
-- summed across currencies).
CREATE TABLE event_sales (
    gen             integer NOT NULL,
    event_id        uuid    NOT NULL,
    currency        text    NOT NULL,
    bookings        bigint  NOT NULL DEFAULT 0,
    cancellations   bigint  NOT NULL DEFAULT 0,
    seats_booked    bigint  NOT NULL DEFAULT 0,
    seats_cancelled bigint  NOT NULL DEFAULT 0,
    gross           bigint  NOT NULL DEFAULT 0,
    refunds         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, event_id, currency)
);

-- event_sections: per section capacity and ledger count (inventory) and seats/revenue
-- (booking). cancelled_value is the face value of seats of cancelled bookings, so
-- gross - cancelled_value is the value of the seats still sold.
CREATE TABLE event_sections (
    gen             integer NOT NULL,
    event_id        uuid    NOT NULL,
    section_id      text    NOT NULL,
    name            text    NOT NULL DEFAULT '',
    capacity        integer NOT NULL DEFAULT 0,
    ledger_sold     integer NOT NULL DEFAULT 0,
    currency        text    NOT NULL DEFAULT '',
    seats_booked    bigint  NOT NULL DEFAULT 0,
    seats_cancelled bigint  NOT NULL DEFAULT 0,
    gross           bigint  NOT NULL DEFAULT 0,
    cancelled_value bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, event_id, section_id)
);

-- event_hourly and event_daily: sales over time. Sales count at the confirmation time,
-- cancellations and refunds at the cancellation time; hours and days are cut in the
-- generation's reporting time zone.
CREATE TABLE event_hourly (
    gen             integer     NOT NULL,
    event_id        uuid        NOT NULL,
    bucket          timestamptz NOT NULL,
    currency        text        NOT NULL,
    bookings        bigint      NOT NULL DEFAULT 0,
    cancellations   bigint      NOT NULL DEFAULT 0,
    seats_booked    bigint      NOT NULL DEFAULT 0,
    seats_cancelled bigint      NOT NULL DEFAULT 0,
    gross           bigint      NOT NULL DEFAULT 0,
    refunds         bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, event_id, bucket, currency)
);

CREATE TABLE event_daily (
    gen             integer NOT NULL,
    event_id        uuid    NOT NULL,
    day             date    NOT NULL,
    currency        text    NOT NULL,
    bookings        bigint  NOT NULL DEFAULT 0,
    cancellations   bigint  NOT NULL DEFAULT 0,
    seats_booked    bigint  NOT NULL DEFAULT 0,
    seats_cancelled bigint  NOT NULL DEFAULT 0,
    gross           bigint  NOT NULL DEFAULT 0,
    refunds         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, event_id, day, currency)
);
-- Revenue reports scan a date range across all shows.
CREATE INDEX event_daily_by_day ON event_daily (gen, day);

-- event_monthly: event_daily rolled up per calendar month, so a revenue report by event
-- or category over a long range reads one row per show and month, and daily rows only for
-- the partial months at the range's ends.
CREATE TABLE event_monthly (
    gen             integer NOT NULL,
    event_id        uuid    NOT NULL,
    month           date    NOT NULL,
    currency        text    NOT NULL,
    bookings        bigint  NOT NULL DEFAULT 0,
    cancellations   bigint  NOT NULL DEFAULT 0,
    seats_booked    bigint  NOT NULL DEFAULT 0,
    seats_cancelled bigint  NOT NULL DEFAULT 0,
    gross           bigint  NOT NULL DEFAULT 0,
    refunds         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, event_id, month, currency)
);
CREATE INDEX event_monthly_by_month ON event_monthly (gen, month);

-- daily: all shows per day and currency, so day/week/month revenue reads at most one row
-- per day and currency however many shows there are.
CREATE TABLE daily (
    gen             integer NOT NULL,
    day             date    NOT NULL,
    currency        text    NOT NULL,
    bookings        bigint  NOT NULL DEFAULT 0,
    cancellations   bigint  NOT NULL DEFAULT 0,
    seats_booked    bigint  NOT NULL DEFAULT 0,
    seats_cancelled bigint  NOT NULL DEFAULT 0,
    gross           bigint  NOT NULL DEFAULT 0,
    refunds         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, day, currency)
);

-- live_minutes: system-wide per-minute activity for the live view (event time, UTC minutes).
CREATE TABLE live_minutes (
    gen             integer     NOT NULL,
    minute          timestamptz NOT NULL,
    bookings        bigint      NOT NULL DEFAULT 0,
    cancellations   bigint      NOT NULL DEFAULT 0,
    seats_booked    bigint      NOT NULL DEFAULT 0,
    seats_cancelled bigint      NOT NULL DEFAULT 0,
    holds_created   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (gen, minute)
);

-- holds: each hold's state, so conversions (seats.sold by hold id) and active holds are
-- counted once whatever the delivery order of duplicates.
CREATE TABLE holds (
    gen        integer     NOT NULL,
    hold_id    text        NOT NULL,
    event_id   uuid        NOT NULL,
    seats      integer     NOT NULL,
    purpose    text        NOT NULL DEFAULT '',
    status     text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (gen, hold_id)
);
CREATE INDEX holds_active ON holds (gen, expires_at) WHERE status = 'ACTIVE';

-- bookings: what a cancellation needs to undo (seats per section with prices), and a
-- guard so a booking is counted once even if its fact were published twice.
CREATE TABLE bookings (
    gen          integer     NOT NULL,
    booking_id   text        NOT NULL,
    event_id     uuid        NOT NULL,
    currency     text        NOT NULL,
    total        bigint      NOT NULL,
    seats        jsonb       NOT NULL,
    status       text        NOT NULL,
    refund       bigint      NOT NULL DEFAULT 0,
    confirmed_at timestamptz,
    cancelled_at timestamptz,
    PRIMARY KEY (gen, booking_id)
);

-- waitlist_entries: each entry's state, so the queue length moves only on real transitions.
CREATE TABLE waitlist_entries (
    gen      integer NOT NULL,
    entry_id text    NOT NULL,
    event_id uuid    NOT NULL,
    status   text    NOT NULL,
    PRIMARY KEY (gen, entry_id)
);
