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
