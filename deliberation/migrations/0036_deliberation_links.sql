-- What `deliberation` reads of others and how a case points to a matter.
--
-- The households a resident speaks for: a confirmed link of `residents` (a resident
-- asked, a grid worker or admin confirmed). This view is deliberation's own, so that
-- entitlement is checked in SQL at the moment of the vote without importing residents.
CREATE VIEW deliberation_voters AS
    SELECT resident_id, compound_id, flat
    FROM resident_households
    WHERE confirmed_at IS NOT NULL;

-- A case may point to one matter (the cases table is not altered: the link is here).
CREATE TABLE deliberation_cases (
    case_id          bigint PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    deliberation_id  bigint NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    linked_by        text NOT NULL,
    linked_at        timestamptz NOT NULL
);
CREATE INDEX deliberation_cases_matter ON deliberation_cases (deliberation_id);
