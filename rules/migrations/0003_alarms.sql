-- The rule engine's alarms and its persisted state (both storage modes: plain tables).
--
-- De-duplication is the database's job: at most one open alarm per fingerprint
-- (rule + subject), enforced by a partial unique index that every raise goes through
-- with INSERT ... ON CONFLICT, so two gateway processes, or two messages of one batch,
-- can never open two alarms for the same thing. A trigger (the identity of the
-- evidence: device, ts, seq, type) is counted once per fingerprint, so a redelivered
-- message does not inflate an alarm's count.

CREATE TABLE alarms (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint     text NOT NULL,         -- rule id + ':' + subject
    rule_id         text NOT NULL,
    rule_version    integer NOT NULL,
    title           text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    compound_id     text NOT NULL,
    device_id       text,
    flat            text,                  -- standard address building-unit-flat
    subject         text NOT NULL,         -- device id, compound/flat, or compound/<value>
    count           integer NOT NULL DEFAULT 1 CHECK (count > 0),
    first_seen      timestamptz NOT NULL,  -- event time of the first evidence
    last_seen       timestamptz NOT NULL,  -- event time of the newest evidence
    opened_at       timestamptz NOT NULL,  -- the engine's clock when it opened
    updated_at      timestamptz NOT NULL,
    cleared_at      timestamptz,           -- NULL while open
    flapping        boolean NOT NULL DEFAULT false,
    trigger_values  jsonb NOT NULL,        -- the values that (last) triggered it
    clear_values    jsonb                  -- the values that cleared it
);
CREATE UNIQUE INDEX alarms_open_fingerprint ON alarms (fingerprint) WHERE cleared_at IS NULL;
CREATE INDEX alarms_compound_opened ON alarms (compound_id, opened_at);
CREATE INDEX alarms_rule_opened ON alarms (rule_id, opened_at);

-- Evidence already counted, per fingerprint; pruned after a few days by the engine.
CREATE TABLE alarm_triggers (
    fingerprint  text NOT NULL,
    trigger      text NOT NULL,
    seen_at      timestamptz NOT NULL,
    PRIMARY KEY (fingerprint, trigger)
);
CREATE INDEX alarm_triggers_seen ON alarm_triggers (seen_at);

-- Running state of each rule per subject (windows, timers, held breaches), as JSON, so
-- that a restart resumes a 12 h inactivity timer instead of starting it again. A row is
-- only replaced by one at least as advanced (watermark = newest event time applied).
CREATE TABLE rule_state (
    rule_id       text NOT NULL,
    key           text NOT NULL,
    kind          text NOT NULL,
    rule_version  integer NOT NULL,
    state         jsonb NOT NULL,
    watermark     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (rule_id, key)
);
