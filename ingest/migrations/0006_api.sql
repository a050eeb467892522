-- The API's own tables: user accounts, the failed-login throttle, the audit log of
-- personal-data reads and device commands, device commands, and the alarm feed that
-- the live stream (`GET /api/v1/stream`) resumes from.

CREATE TABLE api_users (
    username       text PRIMARY KEY,
    role           text NOT NULL
                   CHECK (role IN ('admin', 'property_staff', 'grid_worker', 'care_responder', 'viewer')),
    grids          text[] NOT NULL DEFAULT '{}',  -- grid ids a grid worker sees
    staff_id       text,                           -- the registry's staff member, if any
    password_hash  text NOT NULL,                  -- argon2id (pwdlib)
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL,
    created_by     text
);

-- One row per failed login; counted over a sliding window by username and by client
-- address, pruned by the API once older than the window.
CREATE TABLE api_login_failures (
    at        timestamptz NOT NULL,
    username  text NOT NULL,
    client    text NOT NULL
);
CREATE INDEX api_login_failures_username ON api_login_failures (username, at);
CREATE INDEX api_login_failures_client ON api_login_failures (client, at);

-- Who read which personal data (or sent which command), when, through which route and why.
CREATE TABLE api_audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    role      text NOT NULL,
    action    text NOT NULL,   -- read_resident_details, read_access_events, device_command...
    subject   text NOT NULL,   -- what was read or commanded: a flat, a device, a query
    route     text NOT NULL,   -- method and path template
    reason    text,            -- the caller's stated purpose (X-Purpose header or ?purpose=)
    client    text,
    detail    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX api_audit_at ON api_audit (at);
CREATE INDEX api_audit_actor ON api_audit (actor, at);

CREATE TABLE api_device_commands (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    correlation_id  text NOT NULL UNIQUE,
    device_id       text NOT NULL,
    compound_id     text NOT NULL,
    kind            text NOT NULL,
    command         jsonb NOT NULL,    -- what was published on the device's cmd topic
    status          text NOT NULL CHECK (status IN ('sent', 'acknowledged', 'failed')),
    result          text,              -- the ack's result: ok / error / rejected
    detail          text,
    requested_by    text NOT NULL,
    created_at      timestamptz NOT NULL,
    deadline        timestamptz NOT NULL,
    completed_at    timestamptz
);
CREATE INDEX api_device_commands_device ON api_device_commands (device_id, created_at);
CREATE INDEX api_device_commands_pending ON api_device_commands (deadline) WHERE status = 'sent';

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
