-- The full registry, "one standard address, three actuals" (一标三实): buildings,
-- units and flats (the standard addresses), households with their seven-colour tags,
-- residents, parties, grids with their "1 + 1 + N" teams, staff, and a change log.
-- Written by `cases.load_full_registry` and the API; compounds and devices stay in 0001.
--
-- Keys are scoped by compound: ids in a compound file are unique within it, and a
-- district is loaded one compound file at a time.

CREATE TABLE buildings (
    compound_id  text NOT NULL REFERENCES compounds (id) ON DELETE CASCADE,
    id           text NOT NULL,
    name         text,
    floors       integer NOT NULL CHECK (floors BETWEEN 1 AND 100),
    x            double precision NOT NULL,  -- plan position of the centre, metres east
    y            double precision NOT NULL,  -- metres north
    width        double precision NOT NULL CHECK (width > 0),
    depth        double precision NOT NULL CHECK (depth > 0),
    PRIMARY KEY (compound_id, id)
);

CREATE TABLE units (  -- stairwells (楼道)
    compound_id  text NOT NULL,
    building_id  text NOT NULL,
    id           text NOT NULL,
    PRIMARY KEY (compound_id, building_id, id),
    FOREIGN KEY (compound_id, building_id) REFERENCES buildings ON DELETE CASCADE
);

CREATE TABLE flats (
    compound_id  text NOT NULL,
    address      text NOT NULL,  -- the standard address building-unit-flat, e.g. 3-2-301
    building_id  text NOT NULL,
    unit_id      text NOT NULL,
    flat         text NOT NULL,
    PRIMARY KEY (compound_id, address),
    FOREIGN KEY (compound_id, building_id, unit_id) REFERENCES units ON DELETE CASCADE,
    CHECK (address = building_id || '-' || unit_id || '-' || flat)
);

CREATE TABLE households (
    compound_id  text NOT NULL,
    flat         text NOT NULL,
    tags         text[] NOT NULL DEFAULT '{}' CHECK (tags <@ ARRAY[
        'party_member', 'empty_nest', 'elderly', 'hardship', 'disabled', 'rented', 'vacant'
    ]::text[]),
    PRIMARY KEY (compound_id, flat),
    FOREIGN KEY (compound_id, flat) REFERENCES flats (compound_id, address) ON DELETE CASCADE
);
CREATE INDEX households_tags ON households USING gin (tags);

-- Residents are pseudonymous (`ref`); what identifies or describes a person lives in
-- resident_details, apart, so that a deployment can GRANT it to the roles that need it
-- (care responders, admins) and every read through `cases.read_resident_details` is
-- written to personal_data_reads.
CREATE TABLE residents (
    compound_id  text NOT NULL,
    ref          text NOT NULL,
    flat         text NOT NULL,
    birth_year   integer CHECK (birth_year BETWEEN 1900 AND 2100),
    lives_alone  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (compound_id, ref),
    FOREIGN KEY (compound_id, flat) REFERENCES households ON DELETE CASCADE
);
CREATE INDEX residents_flat ON residents (compound_id, flat);

CREATE TABLE resident_details (
    compound_id   text NOT NULL,
    ref           text NOT NULL,
    contact       text,
    health_notes  text,
    PRIMARY KEY (compound_id, ref),
    FOREIGN KEY (compound_id, ref) REFERENCES residents ON DELETE CASCADE
);
COMMENT ON TABLE resident_details IS
    'personal data (PIPL): contact and health details; readable by care responders and admins only, every read audited in personal_data_reads';
REVOKE ALL ON resident_details FROM PUBLIC;

CREATE TABLE personal_data_reads (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    role         text NOT NULL,
    compound_id  text NOT NULL,
    ref          text NOT NULL,
    purpose      text NOT NULL
);
CREATE INDEX personal_data_reads_ref ON personal_data_reads (compound_id, ref, at);

CREATE TABLE parties (  -- responsible organisations
    compound_id  text NOT NULL REFERENCES compounds (id) ON DELETE CASCADE,
    id           text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('property_company', 'residents_committee',
        'owners_committee', 'elderly_care_centre', 'community_police', 'grid_team')),
    name         text NOT NULL,
    PRIMARY KEY (compound_id, id)
);
CREATE INDEX parties_kind ON parties (compound_id, kind);

CREATE TABLE grids (
    compound_id  text NOT NULL REFERENCES compounds (id) ON DELETE CASCADE,
    id           text NOT NULL,
    name         text,
    PRIMARY KEY (compound_id, id)
);

-- "Every matter sits in a grid": a building belongs to exactly one grid.
CREATE TABLE grid_buildings (
    compound_id  text NOT NULL,
    building_id  text NOT NULL,
    grid_id      text NOT NULL,
    PRIMARY KEY (compound_id, building_id),
    FOREIGN KEY (compound_id, grid_id) REFERENCES grids ON DELETE CASCADE,
    FOREIGN KEY (compound_id, building_id) REFERENCES buildings ON DELETE CASCADE
);

CREATE TABLE staff (
    compound_id  text NOT NULL REFERENCES compounds (id) ON DELETE CASCADE,
    id           text NOT NULL,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'property_staff', 'grid_worker',
        'care_responder', 'viewer')),
    party_id     text,
    PRIMARY KEY (compound_id, id),
    FOREIGN KEY (compound_id, party_id) REFERENCES parties
);

CREATE TABLE staff_grids (
    compound_id  text NOT NULL,
    staff_id     text NOT NULL,
    grid_id      text NOT NULL,
    PRIMARY KEY (compound_id, staff_id, grid_id),
    FOREIGN KEY (compound_id, staff_id) REFERENCES staff ON DELETE CASCADE,
    FOREIGN KEY (compound_id, grid_id) REFERENCES grids ON DELETE CASCADE
);

-- The grid team "1 + 1 + N": one cadre (the grid lead), one community worker, volunteers.
CREATE TABLE grid_members (
    compound_id  text NOT NULL,
    grid_id      text NOT NULL,
    staff_id     text NOT NULL,
    role         text NOT NULL CHECK (role IN ('cadre', 'community_worker', 'volunteer')),
    PRIMARY KEY (compound_id, grid_id, staff_id),
    FOREIGN KEY (compound_id, grid_id) REFERENCES grids ON DELETE CASCADE,
    FOREIGN KEY (compound_id, staff_id) REFERENCES staff ON DELETE CASCADE
);
CREATE UNIQUE INDEX grid_members_one_cadre ON grid_members (compound_id, grid_id)
    WHERE role = 'cadre';
CREATE UNIQUE INDEX grid_members_one_worker ON grid_members (compound_id, grid_id)
    WHERE role = 'community_worker';

-- Who changed what, when: one row per added, changed or removed registry entry.
CREATE TABLE registry_changes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    compound_id  text NOT NULL,
    entity       text NOT NULL,  -- the table: flats, households, staff, ...
    key          text NOT NULL,  -- the entry's key within its compound, e.g. 3-2-301
    change       text NOT NULL CHECK (change IN ('added', 'changed', 'removed')),
    before       jsonb,
    after        jsonb
);
CREATE INDEX registry_changes_compound_at ON registry_changes (compound_id, at);
CREATE INDEX registry_changes_entry ON registry_changes (compound_id, entity, key, at);
