-- Catalog: venue templates, events, prices, cancellation policies, tags.
-- Seats are never stored one by one: a section is a rectangle of rows × seats, and every
-- seat (id, label, coordinates) is derived from it, so a 50,000-seat venue is a few rows.

CREATE TABLE venue_templates (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    address     text        NOT NULL DEFAULT '',
    layout_type text        NOT NULL CHECK (layout_type IN ('THEATER', 'STADIUM', 'CONFERENCE', 'GENERAL')),
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX venue_templates_name_key ON venue_templates (lower(name));

CREATE TABLE template_sections (
    id            uuid    PRIMARY KEY,
    template_id   uuid    NOT NULL REFERENCES venue_templates (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    code          text    NOT NULL,
    name          text    NOT NULL,
    row_start     text    NOT NULL,
    row_end       text    NOT NULL,
    seats_per_row integer NOT NULL CHECK (seats_per_row > 0),
    row_count     integer NOT NULL CHECK (row_count > 0),
    price_tier    text    NOT NULL DEFAULT '',
    UNIQUE (template_id, position)
);

CREATE TABLE events (
    id                  uuid        PRIMARY KEY,
    name                text        NOT NULL,
    description         text        NOT NULL DEFAULT '',
    category            text        NOT NULL DEFAULT '',
    venue_template_id   uuid        NOT NULL REFERENCES venue_templates (id),
    venue_name          text        NOT NULL,
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    timezone            text        NOT NULL DEFAULT 'UTC',
    status              text        NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'CANCELLED', 'COMPLETED')),
    base_price          bigint      NOT NULL CHECK (base_price >= 0),
    currency            text        NOT NULL,
    hold_limit_per_user integer     NOT NULL,
    sale_starts_at      timestamptz,
    sale_ends_at        timestamptz,
    -- section_id → multiplier in thousandths, as the organiser gave it.
    section_pricing     jsonb       NOT NULL DEFAULT '[]'::jsonb,
    total_capacity      integer     NOT NULL DEFAULT 0,
    sold_total          integer     NOT NULL DEFAULT 0,
    min_price           bigint      NOT NULL DEFAULT 0,
    max_price           bigint      NOT NULL DEFAULT 0,
    version             integer     NOT NULL DEFAULT 1,
    published_at        timestamptz,
    cancelled_at        timestamptz,
    cancel_reason       text        NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- Built-in full-text search (no extension needed): 'simple' keeps names as typed.
    search              tsvector    GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A') || setweight(to_tsvector('simple', description), 'B')
    ) STORED
);
CREATE INDEX events_status_starts_idx ON events (status, starts_at);
CREATE INDEX events_template_idx ON events (venue_template_id);
CREATE INDEX events_category_idx ON events (category);
CREATE INDEX events_search_idx ON events USING gin (search);

-- A draft's sections follow its template; a published event's are frozen copies. Either
-- way the event reads its layout and prices from here only.
CREATE TABLE event_sections (
    event_id        uuid    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    section_id      uuid    NOT NULL,
    position        integer NOT NULL,
    code            text    NOT NULL,
    name            text    NOT NULL,
    price_tier      text    NOT NULL DEFAULT '',
    row_start       text    NOT NULL,
    row_end         text    NOT NULL,
    seats_per_row   integer NOT NULL,
    row_count       integer NOT NULL,
    multiplier_milli integer NOT NULL,
    price           bigint  NOT NULL,
    capacity        integer NOT NULL,
    sold            integer NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, section_id)
);
CREATE INDEX event_sections_price_idx ON event_sections (price);

CREATE TABLE tags (
    id         uuid        PRIMARY KEY,
    slug       text        NOT NULL UNIQUE,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_tags (
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    tag_id   uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, tag_id)
);
CREATE INDEX event_tags_tag_idx ON event_tags (tag_id);

-- Every change of a policy is a new row; bookings record the version they were judged by.
CREATE TABLE cancellation_policies (
    event_id               uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    version                integer     NOT NULL,
    allow_cancellation     boolean     NOT NULL,
    cancellation_deadline  timestamptz,
    fee_type               text        NOT NULL CHECK (fee_type IN ('NONE', 'FIXED', 'PERCENTAGE')),
    fee_amount             bigint      NOT NULL,
    refund_tiers           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    requires_approval      boolean     NOT NULL,
    refund_processing_days integer     NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, version)
);
