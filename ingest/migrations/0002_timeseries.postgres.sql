-- Time series on plain PostgreSQL: native range partitioning by ts. Partitions are
-- created on demand by the writer (one per chunk_interval of data_classes) and dropped
-- whole by maintenance once older than the retention; rollups are a table kept fresh
-- by maintenance from the hours that inserts mark dirty.

CREATE TABLE telemetry (
    device_id  text NOT NULL,
    key        text NOT NULL,
    ts         timestamptz NOT NULL,
    value      double precision NOT NULL,
    seq        bigint,
    UNIQUE (device_id, key, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE events (
    device_id    text NOT NULL,
    ts           timestamptz NOT NULL,
    type         text NOT NULL,
    seq          bigint NOT NULL,  -- -1 when the device sent none
    channel      text NOT NULL,
    data         jsonb NOT NULL,
    received_at  timestamptz NOT NULL,
    UNIQUE (device_id, ts, type, seq)
) PARTITION BY RANGE (ts);

-- Same shape as events, its own table so that its retention can be short.
CREATE TABLE access_events (
    device_id    text NOT NULL,
    ts           timestamptz NOT NULL,
    type         text NOT NULL,
    seq          bigint NOT NULL,
    channel      text NOT NULL,
    data         jsonb NOT NULL,
    received_at  timestamptz NOT NULL,
    UNIQUE (device_id, ts, type, seq)
) PARTITION BY RANGE (ts);

CREATE TABLE telemetry_hourly (
    bucket     timestamptz NOT NULL,
    device_id  text NOT NULL,
    key        text NOT NULL,
    samples    bigint NOT NULL,
    avg        double precision NOT NULL,
    min        double precision NOT NULL,
    max        double precision NOT NULL,
    PRIMARY KEY (device_id, key, bucket)
);
CREATE INDEX telemetry_hourly_bucket ON telemetry_hourly (bucket);

-- Hours that received rows since their rollup was last computed.
CREATE TABLE rollup_dirty (bucket timestamptz PRIMARY KEY);

CREATE FUNCTION telemetry_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty (bucket)
    SELECT DISTINCT date_trunc('hour', ts) FROM new_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER telemetry_mark_dirty AFTER INSERT ON telemetry
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION telemetry_mark_dirty();
