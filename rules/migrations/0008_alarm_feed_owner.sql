-- The alarm feed is the rules' record of their own changes (written by a trigger on
-- `alarms`), read by the API's live stream through `rules.alarm_feed`: named for its
-- owner now that each package creates its own tables.
ALTER TABLE api_alarm_feed RENAME TO alarm_feed;
ALTER INDEX api_alarm_feed_at RENAME TO alarm_feed_at;
DROP TRIGGER api_alarm_feed ON alarms;
DROP FUNCTION api_alarm_feed_append();

CREATE FUNCTION alarm_feed_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- "APIFEED" in ASCII: one constant shared by every writer of alarms (kept: a
    -- process of the previous release may still be writing during an upgrade).
    PERFORM pg_advisory_xact_lock(x'41504946454544'::bigint);
    INSERT INTO alarm_feed (change, alarm_id, compound_id, device_id, flat, severity,
                            rule_id, title, count)
    VALUES (CASE WHEN TG_OP = 'INSERT' THEN 'opened'
                 WHEN NEW.cleared_at IS NOT NULL AND OLD.cleared_at IS NULL THEN 'cleared'
                 ELSE 'updated' END,
            NEW.id, NEW.compound_id, NEW.device_id, NEW.flat, NEW.severity,
            NEW.rule_id, NEW.title, NEW.count);
    RETURN NULL;
END $$;

CREATE TRIGGER alarm_feed AFTER INSERT OR UPDATE ON alarms
    FOR EACH ROW EXECUTE FUNCTION alarm_feed_append();
