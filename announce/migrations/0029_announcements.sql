-- Announcements (announce): a notice from staff to a compound, some of its buildings or
-- households, optionally only the households carrying a seven-colour tag, for a window.
-- A read is one row per household (a resident's page or staff recording a phone call);
-- a delivery is one row per targeted household and contact position, claimed and sent
-- once when the window opens.
CREATE TABLE announcements (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id   text NOT NULL REFERENCES compounds (id),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    buildings     text[] NOT NULL DEFAULT '{}',
    flats         text[] NOT NULL DEFAULT '{}',
    tag           text CHECK (tag IN (
        'party_member', 'empty_nest', 'elderly', 'hardship', 'disabled', 'rented', 'vacant'
    )),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    published_by  text NOT NULL,
    published_at  timestamptz NOT NULL,
    withdrawn_at  timestamptz,
    -- When its deliveries were planned (one row per household and contact below).
    planned_at    timestamptz,
    CHECK (ends_at > starts_at)
);
CREATE INDEX announcements_window ON announcements (compound_id, ends_at);
CREATE INDEX announcements_unplanned ON announcements (starts_at) WHERE planned_at IS NULL;

CREATE TABLE announcement_reads (
    announcement_id  bigint NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    flat             text NOT NULL,
    read_at          timestamptz NOT NULL,
    recorded_by      text NOT NULL,
    PRIMARY KEY (announcement_id, flat)
);

-- The contact URL is not copied here: it is read from the registry when sent (a URL may
-- carry a password, and a household that withdraws consent is then not written to).
CREATE TABLE announcement_deliveries (
    announcement_id  bigint NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    flat             text NOT NULL,
    position         integer NOT NULL,
    state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    error            text,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (announcement_id, flat, position)
);
CREATE INDEX announcement_deliveries_queued ON announcement_deliveries (announcement_id)
    WHERE state = 'queued';
