-- Rollups keep their history (plain PostgreSQL). Two changes to how inserts mark what
-- the next refresh recomputes:
--
-- 1. One marker per writing statement and hour, never merged into a marker already
--    there. Before, a writer whose hour was already marked added nothing (ON CONFLICT
--    DO NOTHING); a refresh that deleted that marker while the writer had not yet
--    committed recomputed the hour without the writer's rows, and nothing marked the
--    hour again: those rows never reached the rollup. Now a refresh deletes only the
--    markers it can see, so a marker of an uncommitted writer outlives it.
-- 2. Rows older than the live hours mark (device, hour) instead of the whole hour: a
--    compound's backfill after an outage recomputes its own device-hours, not the hour
--    of every device on the node (TimescaleDB's invalidation log has no such
--    granularity: timescale/timescaledb#8132).
--
-- Markers already present stay whole-hour markers (device_id NULL).

ALTER TABLE rollup_dirty DROP CONSTRAINT rollup_dirty_pkey;
ALTER TABLE rollup_dirty ALTER COLUMN bucket SET NOT NULL;
ALTER TABLE rollup_dirty ADD COLUMN device_id text;  -- NULL: every device of the hour
COMMENT ON TABLE rollup_dirty IS
    'Hours (device_id NULL) and device-hours that received rows since their rollup was'
    ' last computed; one row per writing statement, deleted by the refresh that reads it.';

-- The live hours are the current and the previous one (UTC): the stream writes both
-- around the turn of an hour, and every device of them is touched anyway, so one
-- whole-hour marker per statement is cheaper than one per device. Older rows are
-- late or backfilled, from a few devices: one marker per (device, hour).
CREATE OR REPLACE FUNCTION telemetry_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty (bucket, device_id)
    SELECT DISTINCT date_trunc('hour', ts, 'UTC'),
           CASE WHEN ts >= date_trunc('hour', now(), 'UTC') - INTERVAL '1 hour'
                THEN NULL ELSE device_id END
    FROM new_rows;
    RETURN NULL;
END $$;
