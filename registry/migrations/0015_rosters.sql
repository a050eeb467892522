-- Who is reached (issue 16), from the compound file:
--   rosters            one per (party, grid) of a compound; grid_id '' is the party's roster
--                      for every grid without its own. `fallback`: who is called outside
--                      any shift, in order.
--   roster_shifts      a roster's shifts in file order: the weekdays a shift starts on and
--                      its wall-clock start and end in the compound's time zone (end <=
--                      start: it crosses midnight; equal: the whole day), its staff in order.
--   staff_quiet_hours  a person's nightly rest: non-critical notifications wait for its end.
--   staff_contacts.source  'file' (the compound file's) or 'api' (set through the API).
--                      Both are kept: a person's 'api' contacts, when there are any, are
--                      the ones used; a reload rewrites only the 'file' ones, so it never
--                      wipes an API edit, and removing the API's brings the file's back.
--   emergency_contacts  a household's relatives or neighbours told of an SOS or fall
--                      (`households[].emergency_contacts`), kept only for households that
--                      consented (`consent: true`); a personal table, logged by field name.
-- Times are `HH:MM` text, as the file writes them (the change log stores rows as JSON).
-- Staff named in arrays are checked by the loader (registry._load), not by foreign keys.
CREATE TABLE rosters (
    compound_id  text NOT NULL,
    party_id     text NOT NULL,
    grid_id      text NOT NULL DEFAULT '',
    fallback     text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (compound_id, party_id, grid_id),
    FOREIGN KEY (compound_id, party_id) REFERENCES parties ON DELETE CASCADE
);

CREATE TABLE roster_shifts (
    compound_id  text NOT NULL,
    party_id     text NOT NULL,
    grid_id      text NOT NULL,
    position     smallint NOT NULL CHECK (position >= 0),
    days         text[] NOT NULL CHECK (days <@ ARRAY['mon','tue','wed','thu','fri','sat','sun']),
    starts       text NOT NULL CHECK (starts ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    ends         text NOT NULL CHECK (ends ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    staff        text[] NOT NULL,
    PRIMARY KEY (compound_id, party_id, grid_id, position),
    FOREIGN KEY (compound_id, party_id, grid_id) REFERENCES rosters ON DELETE CASCADE
);

CREATE TABLE staff_quiet_hours (
    compound_id  text NOT NULL,
    staff_id     text NOT NULL,
    starts       text NOT NULL CHECK (starts ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    ends         text NOT NULL CHECK (ends ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    PRIMARY KEY (compound_id, staff_id),
    FOREIGN KEY (compound_id, staff_id) REFERENCES staff ON DELETE CASCADE
);

ALTER TABLE staff_contacts
    ADD COLUMN source text NOT NULL DEFAULT 'file' CHECK (source IN ('file', 'api')),
    DROP CONSTRAINT staff_contacts_pkey,
    ADD PRIMARY KEY (compound_id, staff_id, source, position);

CREATE TABLE emergency_contacts (
    compound_id  text NOT NULL,
    flat         text NOT NULL,
    position     smallint NOT NULL CHECK (position >= 0),
    name         text NOT NULL,
    url          text NOT NULL,
    PRIMARY KEY (compound_id, flat, position),
    FOREIGN KEY (compound_id, flat) REFERENCES households ON DELETE CASCADE
);
REVOKE ALL ON emergency_contacts FROM PUBLIC;
