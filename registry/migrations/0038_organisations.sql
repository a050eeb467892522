-- Organisations (issue 20): the property companies, elderly-care centres, residents'
-- committees, subdistrict offices, ... that own or serve compounds. The kind is a word,
-- not a fixed list. An organisation serves the compounds linked to it here and, through
-- `parent_id`, those of the organisations under it (a subdistrict office above its
-- communities' committees). Every API account belongs to one (`api_users`); the
-- `platform` organisation is the operator of this Dayuan and serves every compound.
CREATE TABLE organisations (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,39}$'),
    parent_id   text REFERENCES organisations (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
INSERT INTO organisations (id, name, kind) VALUES ('platform', 'Platform operator', 'platform');

CREATE TABLE organisation_compounds (
    organisation_id  text NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    compound_id      text NOT NULL REFERENCES compounds (id) ON DELETE CASCADE,
    PRIMARY KEY (organisation_id, compound_id)
);
CREATE INDEX organisation_compounds_compound ON organisation_compounds (compound_id);

-- A party of the routing is an organisation's presence in a compound.
ALTER TABLE parties ADD COLUMN organisation_id text REFERENCES organisations (id);
