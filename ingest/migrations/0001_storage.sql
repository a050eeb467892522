-- Device state, the newest values, dead letters and the data classes. No foreign keys
-- to the registry: a device removed from it while its messages are in flight must not
-- turn a batch into a permanent failure.

-- One row per device: when it was last heard (receive time, any channel), the newest
-- ts it reported, when it last sent data (not status), and the last `status` it
-- published (retained, or its will message), latest by receive time: a will carries the
-- ts of the connect it was registered at, yet it is the device's latest word.
CREATE TABLE device_state (
    device_id      text PRIMARY KEY,
    last_seen      timestamptz NOT NULL,
    last_ts        timestamptz NOT NULL,
    data_seen      timestamptz,
    status_online  boolean,
    status_ts      timestamptz,
    status_seen    timestamptz,
    messages       bigint NOT NULL DEFAULT 0
);

-- The newest value of each telemetry key by the device's own ts (not by arrival).
CREATE TABLE telemetry_latest (
    device_id  text NOT NULL,
    key        text NOT NULL,
    ts         timestamptz NOT NULL,
    value      double precision NOT NULL,
    PRIMARY KEY (device_id, key)
);

CREATE TABLE dead_letters (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at   timestamptz NOT NULL,
    topic         text NOT NULL,
    device_id     text,
    reason        text NOT NULL,
    detail        text NOT NULL,
    payload       bytea NOT NULL,  -- at most the first 4 KiB of what arrived
    payload_size  integer NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at);

-- Data classes: which table holds what, how it is chunked, compressed and how long it
-- is kept. `dayuan db upgrade` (re)applies these to the storage engine; change a row
-- and run it again to change a policy.
CREATE TABLE data_classes (
    name            text PRIMARY KEY,
    relation        text NOT NULL UNIQUE,
    chunk_interval  interval NOT NULL,
    compress_after  interval,
    retention       interval NOT NULL,
    why             text NOT NULL
);
INSERT INTO data_classes (name, relation, chunk_interval, compress_after, retention, why) VALUES
    ('telemetry', 'telemetry', '1 day', '7 days', '400 days',
     'raw measurements; a day-chunk of a district (~10^8 narrow rows) keeps its indexes in memory; '
     'a year and a month covers a year-on-year comparison, hourly rollups are kept longer'),
    ('events', 'events', '7 days', '30 days', '730 days',
     'device events naming no person (alarms, door states, faults): the evidence of cases, kept two years'),
    ('access', 'access_events', '1 day', '7 days', '90 days',
     'gate access and plate reads name people and cars: personal data under PIPL, kept only as long '
     'as a security review needs them'),
    ('rollups', 'telemetry_hourly', '30 days', '60 days', '1825 days',
     'hourly aggregates serve charts and KPIs for five years at 1/60 of the raw volume'),
    ('dead_letters', 'dead_letters', '1 day', NULL, '30 days',
     'rejected messages: for operators to diagnose devices, not an archive');
