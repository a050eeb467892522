-- Telling residents the outcome (owned by `residents`): one row per resolution of a
-- resident's case, written by a trigger in the resolution's own transaction (so no
-- resolution is missed whoever records it), delivered at least once through the
-- resident's channel and marked sent.

CREATE TABLE resident_outcomes (
    case_event_id  bigint PRIMARY KEY REFERENCES case_events (id),
    case_id        bigint NOT NULL REFERENCES cases (id),
    resident_id    bigint NOT NULL REFERENCES resident_accounts (id) ON DELETE CASCADE,
    outcome        text NOT NULL,
    created_at     timestamptz NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    sent_at        timestamptz,
    last_error     text
);
CREATE INDEX resident_outcomes_unsent ON resident_outcomes (created_at) WHERE sent_at IS NULL;

CREATE FUNCTION resident_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO resident_outcomes (case_event_id, case_id, resident_id, outcome, created_at)
    SELECT NEW.id, NEW.case_id, r.resident_id, coalesce(NEW.detail ->> 'outcome', ''), NEW.at
    FROM resident_reports r WHERE r.case_id = NEW.case_id;
    RETURN NEW;
END $$;

CREATE TRIGGER case_events_resident_outcome AFTER INSERT ON case_events
    FOR EACH ROW WHEN (NEW.transition = 'reporter_informed') EXECUTE FUNCTION resident_outcome();

-- The photos' retention clock starts when the case ends.
CREATE FUNCTION resident_photo_retention() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE case_photos SET purge_after = NEW.at + interval '180 days'
    WHERE case_id = NEW.case_id;
    RETURN NEW;
END $$;

CREATE TRIGGER case_events_photo_retention AFTER INSERT ON case_events
    FOR EACH ROW WHEN (NEW.to_state IN ('closed', 'cancelled', 'merged'))
    EXECUTE FUNCTION resident_photo_retention();
