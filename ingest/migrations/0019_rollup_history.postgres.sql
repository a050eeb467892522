-- Rollups keep their history (plain PostgreSQL). Two changes to how inserts mark what
-- the next refresh recomputes:
--
-- 1. One marker per writing statement and hour, never merged into a marker already
--    there. Before, a writer whose hour was already marked added nothing (ON CONFLICT
--    DO NOTHING); a refresh that deleted that marker while the writer had not yet
--    committed recomputed the hour without the writer's rows, and nothing marked the
--    hour again: those rows never reached the rollup. Now a refresh deletes only the
--    markers it can see, so a marker of an uncommitted writer outlives it.
-- 2. Rows older than the live hours mark their devices of the hour instead of the whole
--    hour: a compound's backfill after an outage recomputes its own device-hours, not
--    the hour of every device on the node (TimescaleDB's invalidation log has no such
--    granularity: timescale/timescaledb#8132). The devices go in one array per mark,
--    so that a batch of 500 devices adds one row, not 500.
--
-- Markers already present stay whole-hour markers (device_ids NULL).

ALTER TABLE rollup_dirty DROP CONSTRAINT rollup_dirty_pkey;
ALTER TABLE rollup_dirty ALTER COLUMN bucket SET NOT NULL;
ALTER TABLE rollup_dirty ADD COLUMN device_ids text[];  -- NULL: every device of the hour
COMMENT ON TABLE rollup_dirty IS
    'Hours (device_ids NULL) and devices of an hour that received rows since their rollup'
    ' was last computed; one row per writing statement and hour, deleted by the refresh'
    ' that reads it.';

-- The live hours are the current and the previous one (UTC): the stream writes both
-- around the turn of an hour, and every device of them is touched anyway, so one
-- whole-hour marker per statement is cheaper than listing them. Older rows are late or
-- backfilled, from a few devices: their mark lists them. An hour lies wholly on one side
-- of that boundary, so each mark is one or the other. Hours by date_bin from a UTC
-- anchor (UTC whatever the session's TimeZone, and cheaper per row than date_trunc with
-- a zone), devices deduplicated by a hashed DISTINCT before they are gathered (an
-- aggregate's own DISTINCT sorts): on 2,500-row statements this costs about what the
-- trigger it replaces did (README, Storage).
CREATE OR REPLACE FUNCTION telemetry_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    live CONSTANT timestamptz :=
        date_bin(INTERVAL '1 hour', now(), TIMESTAMPTZ '2000-01-01 00:00:00+00')
        - INTERVAL '1 hour';
BEGIN
    INSERT INTO rollup_dirty (bucket, device_ids)
    SELECT bucket, array_agg(device_id) FILTER (WHERE device_id IS NOT NULL)
    FROM (
        SELECT DISTINCT
               date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
               CASE WHEN ts < live THEN device_id END AS device_id
        FROM new_rows
    ) touched
    GROUP BY bucket;
    RETURN NULL;
END $$;
