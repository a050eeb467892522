-- Parking (owner: parking): each compound's tariff, the stays paired from the
-- barriers' plate reads, the reads already taken (so that a sweep pairs nothing twice)
-- and the sweep's mark in the access_events stream. Stays and reads name a car's
-- plate: personal data, retention class `parking_stay`, deleted PARKING_KEEP (90 days,
-- as the plate reads themselves, ingest's `access` class) after the stay ended
-- (`parking.purge`, run by every sweep).

CREATE TABLE parking_tariffs (
    compound_id           text PRIMARY KEY REFERENCES compounds (id) ON DELETE CASCADE,
    free_minutes          integer NOT NULL CHECK (free_minutes BETWEEN 0 AND 10080),
    hourly_fen            integer NOT NULL CHECK (hourly_fen BETWEEN 0 AND 100000),
    daily_cap_fen         integer NOT NULL CHECK (daily_cap_fen >= hourly_fen),
    residents_exempt      boolean NOT NULL,
    visitor_free_minutes  integer NOT NULL CHECK (visitor_free_minutes BETWEEN 0 AND 10080),
    missed_read_fee_fen   integer NOT NULL CHECK (missed_read_fee_fen >= 0),
    updated_at            timestamptz NOT NULL,
    updated_by            text NOT NULL
);

CREATE TABLE parking_stays (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id   text NOT NULL,
    plate         text NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'closed', 'exit_missed', 'entry_missed')),
    entered_at    timestamptz,
    entry_device  text,
    exited_at     timestamptz,
    exit_device   text,
    resident      boolean NOT NULL,
    visitor       boolean NOT NULL,
    fee_fen       integer CHECK (fee_fen >= 0),  -- NULL while open
    retention     text NOT NULL DEFAULT 'parking_stay' CHECK (retention = 'parking_stay'),
    purge_after   timestamptz,  -- NULL while open
    CHECK (entered_at IS NOT NULL OR status = 'entry_missed'),
    CHECK ((status = 'open') = (fee_fen IS NULL))
);
-- One open stay per plate and compound: the next entry closes the previous one.
CREATE UNIQUE INDEX parking_stays_open ON parking_stays (compound_id, plate)
    WHERE status = 'open';
CREATE INDEX parking_stays_recent ON parking_stays (compound_id, coalesce(exited_at, entered_at));
CREATE INDEX parking_stays_purge ON parking_stays (purge_after) WHERE purge_after IS NOT NULL;

CREATE TABLE parking_reads (
    device_id    text NOT NULL,
    ts           timestamptz NOT NULL,
    seq          bigint NOT NULL,
    compound_id  text NOT NULL,
    plate        text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('in', 'out')),
    taken_as     text NOT NULL CHECK (taken_as IN ('entry', 'exit', 'entry_missed', 'repeat')),
    stay_id      bigint REFERENCES parking_stays (id) ON DELETE SET NULL,
    retention    text NOT NULL DEFAULT 'parking_stay' CHECK (retention = 'parking_stay'),
    PRIMARY KEY (device_id, ts, seq)
);
CREATE INDEX parking_reads_ts ON parking_reads (ts);

-- Where the sweep stopped: the last read taken, in the order received_at, ts, device, seq.
CREATE TABLE parking_marks (
    name         text PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    ts           timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL
);
