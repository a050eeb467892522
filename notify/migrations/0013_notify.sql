-- Notifications (owner: notify). Two tables, both written in transactions that commit
-- or vanish whole:
--   notify_outbox   one row per case event that may have to reach someone, inserted by
--                   a trigger on case_events in the event's own transaction (so a
--                   dispatch or escalation that commits can never miss its outbox row,
--                   whatever process wrote it); the notifier plans each row once.
--   notifications   one row per (event, recipient, contact point), inserted when the
--                   outbox row is planned, in the same transaction; delivered at least
--                   once by the notifiers, which share them with FOR UPDATE SKIP LOCKED.
-- The trigger reads only the new case_events row: which events actually notify, and
-- whom, is decided by the notifier through cases' and the registry's functions.

CREATE TABLE notify_outbox (
    case_event_id  bigint PRIMARY KEY REFERENCES case_events (id),
    case_id        bigint NOT NULL,
    transition     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    planned_at     timestamptz,   -- NULL: the notifier has not planned it yet
    planned        integer        -- notifications it made (0: nobody to tell)
);
CREATE INDEX notify_outbox_unplanned ON notify_outbox (case_event_id) WHERE planned_at IS NULL;

CREATE FUNCTION notify_outbox_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- notify._plan.OUTBOX_TRANSITIONS lists the same transitions.
    IF NEW.transition IN ('dispatched', 'escalated') THEN
        INSERT INTO notify_outbox (case_event_id, case_id, transition)
        VALUES (NEW.id, NEW.case_id, NEW.transition);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER case_events_notify_outbox AFTER INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION notify_outbox_append();

CREATE TABLE notifications (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id          bigint NOT NULL,
    case_event_id    bigint NOT NULL REFERENCES notify_outbox (case_event_id),
    recipient        text NOT NULL,   -- a staff id (or, later, a contact's ref)
    channel          text,            -- the contact URL; NULL: the recipient has none
    idempotency_key  text NOT NULL UNIQUE,  -- case event + recipient + channel
    subject          text NOT NULL,
    body             text NOT NULL,
    document         jsonb NOT NULL,  -- the case facts a webhook posts
    state            text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sent', 'failed', 'acknowledged')),
    attempts         integer NOT NULL DEFAULT 0,
    -- When a notifier may next claim it. Claiming moves it one lease ahead, so a
    -- notifier killed mid-delivery leaves a row that is due again when the lease ends.
    next_attempt_at  timestamptz NOT NULL,
    claimed_by       text,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    acknowledged_at  timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'queued';
CREATE INDEX notifications_case ON notifications (case_id, id);
REVOKE ALL ON notifications FROM PUBLIC;
