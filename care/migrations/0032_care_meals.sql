-- Meal deliveries for elderly households (care): a schedule (weekdays, meal, deliverer)
-- and one record per scheduled day, done or missed. `care_alerts` is what the sweep
-- turned into a case, one row per overdue visit period or missed delivery: its primary
-- key is what makes a sweep raise each case exactly once, across sweeps and restarts.
CREATE TABLE care_meal_schedules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id  text NOT NULL REFERENCES compounds (id),
    flat         text NOT NULL,
    grid_id      text,
    meal         text NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
    weekdays     smallint[] NOT NULL CHECK (cardinality(weekdays) BETWEEN 1 AND 7
                                            AND weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]),
    deliverer    text NOT NULL CHECK (length(deliverer) BETWEEN 1 AND 64),
    starts_on    date NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    ended_by     text
);
CREATE INDEX care_meal_schedules_compound ON care_meal_schedules (compound_id, grid_id);

CREATE TABLE care_meal_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id  bigint NOT NULL REFERENCES care_meal_schedules (id),
    compound_id  text NOT NULL,
    flat         text NOT NULL,
    grid_id      text,
    day          date NOT NULL,
    done         boolean NOT NULL,
    note         text CHECK (length(note) <= 2000),
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL,
    UNIQUE (schedule_id, day)
);
CREATE INDEX care_meal_deliveries_missed ON care_meal_deliveries (id) WHERE NOT done;

CREATE TABLE care_alerts (
    kind         text NOT NULL CHECK (kind IN ('care_visit_overdue', 'meal_missed')),
    subject      text NOT NULL,  -- plan:<id>@<due>, follow_up:<id>, delivery:<id>
    compound_id  text NOT NULL,
    flat         text NOT NULL,
    -- What the case is opened with, kept so that a sweep that died between claiming
    -- the row and opening the case opens the same one on its next pass.
    title        text NOT NULL,
    severity     text NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
    case_id      bigint,  -- NULL: claimed, the case not opened yet
    raised_at    timestamptz NOT NULL,
    PRIMARY KEY (kind, subject)
);
