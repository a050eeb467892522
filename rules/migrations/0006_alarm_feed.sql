-- The alarm half of the live feed: one row per alarm change, written by a trigger on
-- `alarms` in the same transaction as the change. The trigger takes an advisory lock
-- held to the end of the transaction before it takes an id (as cases does for
-- case_events), so ids are handed out in commit order and a reader resuming after id N
-- can never miss a row committed later with a smaller id.
CREATE TABLE api_alarm_feed (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    change       text NOT NULL,     -- opened / updated / cleared
    alarm_id     bigint NOT NULL,
    compound_id  text NOT NULL,
    device_id    text,
    flat         text,
    severity     text NOT NULL,
    rule_id      text NOT NULL,
    title        text NOT NULL,
    count        integer NOT NULL
);
CREATE INDEX api_alarm_feed_at ON api_alarm_feed (at);

CREATE FUNCTION api_alarm_feed_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- "APIFEED" in ASCII: one constant shared by every writer of alarms.
    PERFORM pg_advisory_xact_lock(x'41504946454544'::bigint);
    INSERT INTO api_alarm_feed (change, alarm_id, compound_id, device_id, flat, severity,
                                rule_id, title, count)
    VALUES (CASE WHEN TG_OP = 'INSERT' THEN 'opened'
                 WHEN NEW.cleared_at IS NOT NULL AND OLD.cleared_at IS NULL THEN 'cleared'
                 ELSE 'updated' END,
            NEW.id, NEW.compound_id, NEW.device_id, NEW.flat, NEW.severity,
            NEW.rule_id, NEW.title, NEW.count);
    RETURN NULL;
END $$;

CREATE TRIGGER api_alarm_feed AFTER INSERT OR UPDATE ON alarms
    FOR EACH ROW EXECUTE FUNCTION api_alarm_feed_append();
