-- The governance loop: cases, their assignments and their append-only history, which
-- is also the live stream (case_events.id is the feed's Last-Event-ID). Plain tables
-- in both storage modes: cases are few (tens of thousands a year in a district) and
-- change for days after they are opened, which is not what hypertables are for.

CREATE TABLE cases (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id       text NOT NULL REFERENCES compounds (id),
    source            text NOT NULL CHECK (source IN ('alarm', 'resident', 'patrol')),
    category          text NOT NULL,
    severity          text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    title             text NOT NULL,
    description       text,
    state             text NOT NULL CHECK (state IN ('new', 'dispatched', 'acknowledged',
        'in_progress', 'resolved', 'closed', 'reopened', 'cancelled')),
    version           integer NOT NULL CHECK (version > 0),  -- = its number of case_events
    fingerprint       text,         -- alarm-opened: rule id + subject
    rule_id           text,
    device_id         text,
    flat              text,         -- standard address building-unit-flat
    location          text,         -- a person's words for where, when not a flat
    grid_id           text,
    reporter          text,         -- a resident's ref or a staff id; NULL for alarms
    alarm_count       integer NOT NULL DEFAULT 1 CHECK (alarm_count > 0),
    trigger_values    jsonb,
    opened_at         timestamptz NOT NULL,
    ack_due           timestamptz NOT NULL,  -- the SLA promise at intake; never moved
    resolve_due       timestamptz NOT NULL,
    supervise_at      timestamptz,  -- when the supervisor next looks; NULL: nothing to watch
    escalation_level  smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 3),
    escalations       integer NOT NULL DEFAULT 0,
    acknowledged_at   timestamptz,  -- the first acknowledgement
    resolved_at       timestamptz,  -- the latest resolution; NULL again once reopened
    closed_at         timestamptz,
    cancelled_at      timestamptz,
    cancel_reason     text CHECK (cancel_reason IN ('duplicate', 'not_responsible')),
    reopen_count      integer NOT NULL DEFAULT 0,
    resolution        text,
    rating            smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment    text,
    updated_at        timestamptz NOT NULL
);
-- At most one open case per alarm fingerprint, whatever number of processes take
-- alarms in: intake inserts with ON CONFLICT against this index and joins on conflict.
-- The states are cases._model.OPEN_STATES.
CREATE UNIQUE INDEX cases_open_fingerprint ON cases (fingerprint)
    WHERE fingerprint IS NOT NULL
      AND state IN ('new', 'dispatched', 'acknowledged', 'in_progress', 'reopened');
CREATE INDEX cases_supervise ON cases (supervise_at) WHERE supervise_at IS NOT NULL;
CREATE INDEX cases_compound_opened ON cases (compound_id, opened_at);
CREATE INDEX cases_fingerprint ON cases (fingerprint, opened_at) WHERE fingerprint IS NOT NULL;

-- Who a case went to: one row per party (an elder's alarm has two, at once).
CREATE TABLE case_assignments (
    case_id      bigint NOT NULL REFERENCES cases (id),
    party_kind   text NOT NULL,
    party_id     text,  -- NULL: no party of that kind is registered in the compound
    grid_id      text,
    staff_id     text,  -- the grid worker of a grid-team assignment
    assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (case_id, party_kind)
);

-- The history of every case, append-only, and the stream. Writers take an advisory
-- lock (cases._store.EVENTS_LOCK) for the rest of their transaction before inserting,
-- so ids are handed out in commit order and a reader resuming after id N misses none.
CREATE TABLE case_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    version      integer NOT NULL,
    compound_id  text NOT NULL,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    transition   text NOT NULL,
    from_state   text,
    to_state     text NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (case_id, version)  -- two writers can never both record version N
);
CREATE INDEX case_events_compound ON case_events (compound_id, id);

CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

-- One row per case with what the KPIs need (cases.kpis groups it). A plain view, not
-- a continuous aggregate, in both modes: a case's row keeps changing for days after
-- the bucket it was opened in (acknowledged, resolved, rated, reopened), a party
-- dimension needs a join with case_assignments, and p90 needs percentile_cont; a
-- continuous aggregate would serve stale figures for old buckets or none at all.
CREATE VIEW case_facts AS
SELECT
    c.id AS case_id,
    c.compound_id,
    c.category,
    c.severity,
    c.grid_id,
    c.opened_at,
    c.state,
    c.state = 'cancelled' AS cancelled,
    c.state = 'closed' AS closed,
    c.state = 'closed' AND c.resolved_at <= c.resolve_due AS closed_on_time,
    extract(epoch FROM c.acknowledged_at - c.opened_at)::double precision AS ack_s,
    extract(epoch FROM c.resolved_at - c.opened_at)::double precision AS resolve_s,
    c.escalations,
    c.rating
FROM cases c;
