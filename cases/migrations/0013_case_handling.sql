-- Case handling (issue 19): who personally answers for a case, and merged duplicates.
--   first_responsible  the first staff member who acknowledged, claimed or was assigned
--                      it (首问负责); kept through transfers: they follow it to the end
--   claimed_by         the staff member who claimed it (党员先锋 认领); cleared when the
--                      case is transferred or re-dispatched to other parties
--   merged_into        for a duplicate merged into another case: the survivor
-- A merged duplicate ends in the state 'merged'; like a cancelled case it is not due
-- in the KPIs (its survivor is).

ALTER TABLE cases
    ADD COLUMN first_responsible text,
    ADD COLUMN claimed_by text,
    ADD COLUMN merged_into bigint REFERENCES cases (id),
    ADD CONSTRAINT cases_merged_into_other CHECK (merged_into IS DISTINCT FROM id),
    DROP CONSTRAINT cases_state_check,
    ADD CONSTRAINT cases_state_check CHECK (state IN ('new', 'dispatched', 'acknowledged',
        'in_progress', 'resolved', 'closed', 'reopened', 'cancelled', 'merged'));
CREATE INDEX cases_merged_into ON cases (merged_into) WHERE merged_into IS NOT NULL;

CREATE OR REPLACE VIEW case_facts AS
SELECT
    c.id AS case_id,
    c.compound_id,
    c.category,
    c.severity,
    c.grid_id,
    c.opened_at,
    c.state,
    c.state IN ('cancelled', 'merged') AS cancelled,
    c.state = 'closed' AS closed,
    c.state = 'closed' AND c.resolved_at <= c.resolve_due AS closed_on_time,
    extract(epoch FROM c.acknowledged_at - c.opened_at)::double precision AS ack_s,
    extract(epoch FROM c.resolved_at - c.opened_at)::double precision AS resolve_s,
    c.escalations,
    c.rating
FROM cases c;
