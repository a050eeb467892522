-- Wake the notifiers (owner: notify). A transaction that gives them work sends
-- NOTIFY dayuan_notify (payload: the case id) as it commits, and `dayuan notifier`
-- LISTENs on it instead of polling every half second; a slow poll stays as the safety
-- net (a NOTIFY sent while a notifier is disconnected is lost). notify._wake.CHANNEL
-- names the same channel.
--   * a new outbox row (a dispatch or an escalation): the case_events trigger below
--   * a repeat round made due at once ("I cannot"): the notify_repeats trigger below
-- Timed work (a retry's backoff, a quiet-hours deferral, a repeat's interval) needs no
-- NOTIFY: a notifier waits until the earliest of them is due.
CREATE OR REPLACE FUNCTION notify_outbox_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- notify._plan.OUTBOX_TRANSITIONS lists the same transitions.
    IF NEW.transition IN ('dispatched', 'escalated') THEN
        INSERT INTO notify_outbox (case_event_id, case_id, transition)
        VALUES (NEW.id, NEW.case_id, NEW.transition);
        PERFORM pg_notify('dayuan_notify', NEW.case_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION notify_repeats_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- only a round brought forward (next_at earlier than it was) is news to a notifier
    IF NEW.next_at IS NOT NULL AND (OLD.next_at IS NULL OR NEW.next_at < OLD.next_at) THEN
        PERFORM pg_notify('dayuan_notify', NEW.case_id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER notify_repeats_wake AFTER UPDATE OF next_at ON notify_repeats
    FOR EACH ROW EXECUTE FUNCTION notify_repeats_wake();
