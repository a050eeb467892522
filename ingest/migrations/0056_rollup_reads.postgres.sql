-- A device's series read from the rollup without touching the table (plain PostgreSQL;
-- issue 21, `dayuan bench queries`). The series of one device over a range (every key:
-- the dashboard's device pane) was served by the primary key (device_id, key, bucket),
-- where the range is no bound for a scan that reads each key's whole history, and then
-- one heap page per row, the refresh having written the rows hour by hour across every
-- device: on a year of the reference compound, 645 index and 744 heap pages for 30 days
-- of one light. The key now follows the bucket, and the values ride in the index
-- (INCLUDE): the range is one contiguous run of the index, read index-only once the
-- rows are all-visible (every row but the last hours', which the refresh rewrites).
-- A series of one key still finds its rows in that run (a key filter, no heap).
-- ON CONFLICT (device_id, key, bucket) infers this index whatever its column order.
-- Rebuilding it takes the table's lock for a while on a large rollup: run it in a
-- quiet hour (about a minute per 10 million rows here).
ALTER TABLE telemetry_hourly DROP CONSTRAINT telemetry_hourly_pkey;
ALTER TABLE telemetry_hourly ADD CONSTRAINT telemetry_hourly_pkey
    PRIMARY KEY (device_id, bucket, key) INCLUDE (samples, avg, min, max);
