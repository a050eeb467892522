-- Care programmes (care): visit plans for tagged households (who visits which flat how
-- often), the visits recorded against a plan or a follow-up, and the follow-up visits
-- (复诊) scheduled when a case is closed with that mode. `grid_id` is the household's
-- grid when the row was written: the per-grid lists and KPIs filter on it.
CREATE TABLE care_plans (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id    text NOT NULL REFERENCES compounds (id),
    flat           text NOT NULL,
    grid_id        text,
    tag            text NOT NULL CHECK (tag IN ('empty_nest', 'elderly', 'disabled')),
    visitor        text NOT NULL CHECK (length(visitor) BETWEEN 1 AND 64),
    interval_days  integer NOT NULL CHECK (interval_days BETWEEN 1 AND 365),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    ended_by       text,
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX care_plans_compound ON care_plans (compound_id, grid_id);

CREATE TABLE care_follow_ups (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id     text NOT NULL REFERENCES compounds (id),
    flat            text NOT NULL,
    grid_id         text,
    case_id         bigint NOT NULL,
    -- The case's `closed` record that asked for it: one follow-up per closing, however
    -- many sweeps read that record (a reopened case closed again asks anew).
    close_event_id  bigint NOT NULL UNIQUE,
    due_at          timestamptz NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX care_follow_ups_compound ON care_follow_ups (compound_id, grid_id);

CREATE TABLE care_visits (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id   text NOT NULL REFERENCES compounds (id),
    flat          text NOT NULL,
    grid_id       text,
    plan_id       bigint REFERENCES care_plans (id),
    follow_up_id  bigint REFERENCES care_follow_ups (id),
    visitor       text NOT NULL,
    visited_at    timestamptz NOT NULL,
    -- Whether it was made by the due time it answered (the KPIs' on-time rate).
    due_at        timestamptz NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('well', 'needs_help', 'not_home')),
    note          text CHECK (length(note) <= 2000),  -- may carry health notes: audited reads
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL,
    CHECK ((plan_id IS NULL) <> (follow_up_id IS NULL))
);
CREATE INDEX care_visits_plan ON care_visits (plan_id, visited_at) WHERE plan_id IS NOT NULL;
CREATE UNIQUE INDEX care_visits_follow_up ON care_visits (follow_up_id)
    WHERE follow_up_id IS NOT NULL;
CREATE INDEX care_visits_compound ON care_visits (compound_id, visited_at);

-- How far the sweep has read the cases' history for closings (one row).
CREATE TABLE care_case_cursor (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_event_id  bigint NOT NULL
);
INSERT INTO care_case_cursor (id, last_event_id) VALUES (true, 0);
