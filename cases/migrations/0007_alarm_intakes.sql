-- Which case each device alarm went into, written by case intake in the intake's own
-- transaction. So "an alarm with no row here" is exactly an alarm whose intake never
-- committed (the database was down when it opened and the process died before its
-- retry): the supervisor takes those in (cases.Workflow.intake_missed). The alarms
-- table is the outbox; this is its ledger.
CREATE TABLE alarm_intakes (
    alarm_id  bigint PRIMARY KEY REFERENCES alarms (id),
    case_id   bigint NOT NULL REFERENCES cases (id),
    at        timestamptz NOT NULL
);

-- Alarms that were taken in before this ledger existed: the latest case of their
-- fingerprint. Alarms that never had a case stay out, and are taken in now.
INSERT INTO alarm_intakes (alarm_id, case_id, at)
SELECT DISTINCT ON (a.id) a.id, c.id, c.opened_at
FROM alarms a JOIN cases c ON c.fingerprint = a.fingerprint
ORDER BY a.id, c.opened_at DESC, c.id DESC;
