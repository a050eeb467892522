-- The registry's core: compounds and their devices, what the gateway validates
-- topics against. The rest of the registry (addresses, households, people, grids) is 0004.
-- No foreign keys from the ingest path into these: a device removed from the registry
-- while its messages are in flight must not turn a batch into a permanent failure.

CREATE TABLE compounds (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    timezone    text NOT NULL,
    document    jsonb NOT NULL DEFAULT '{}'::jsonb,  -- the compound file's entry, for later issues
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id           text PRIMARY KEY,
    compound_id  text NOT NULL REFERENCES compounds (id),
    kind         text NOT NULL CHECK (kind IN ('gate', 'barrier', 'light', 'elder')),
    model        text NOT NULL,
    name         text,
    address      text,
    x            double precision,
    y            double precision,
    heartbeat_s  integer NOT NULL CHECK (heartbeat_s > 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_compound_kind ON devices (compound_id, kind);
