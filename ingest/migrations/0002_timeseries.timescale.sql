-- Time series on TimescaleDB: hypertables, the columnstore (compression), retention
-- and a continuous aggregate. Chunk intervals, compression and retention policies are
-- applied from data_classes by `dayuan db upgrade` after the migrations.

CREATE TABLE telemetry (
    device_id  text NOT NULL,
    key        text NOT NULL,
    ts         timestamptz NOT NULL,
    value      double precision NOT NULL,
    seq        bigint,
    UNIQUE (device_id, key, ts)
);
SELECT create_hypertable('telemetry', by_range('ts', INTERVAL '1 day'));
ALTER TABLE telemetry SET (
    timescaledb.enable_columnstore = true,
    timescaledb.segmentby = 'device_id, key',
    timescaledb.orderby = 'ts DESC'
);

CREATE TABLE events (
    device_id    text NOT NULL,
    ts           timestamptz NOT NULL,
    type         text NOT NULL,
    seq          bigint NOT NULL,
    channel      text NOT NULL,
    data         jsonb NOT NULL,
    received_at  timestamptz NOT NULL,
    UNIQUE (device_id, ts, type, seq)
);
SELECT create_hypertable('events', by_range('ts', INTERVAL '7 days'));
ALTER TABLE events SET (
    timescaledb.enable_columnstore = true,
    timescaledb.segmentby = 'device_id',
    timescaledb.orderby = 'ts DESC'
);

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
);
SELECT create_hypertable('access_events', by_range('ts', INTERVAL '1 day'));
ALTER TABLE access_events SET (
    timescaledb.enable_columnstore = true,
    timescaledb.segmentby = 'device_id',
    timescaledb.orderby = 'ts DESC'
);

CREATE MATERIALIZED VIEW telemetry_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket,
       device_id,
       key,
       count(*) AS samples,
       avg(value) AS avg,
       min(value) AS min,
       max(value) AS max
FROM telemetry
GROUP BY bucket, device_id, key
WITH NO DATA;
