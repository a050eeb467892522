-- The escalation ladder's upper rungs are people (issue 20): a subdistrict office is a
-- party in the compounds it is over (its staff reached when a case climbs to it), and
-- the upper rungs' staff have a role of their own (`supervisor`: they see and act on
-- their compounds' cases, nothing else).
ALTER TABLE parties DROP CONSTRAINT parties_kind_check;
ALTER TABLE parties ADD CONSTRAINT parties_kind_check CHECK (kind IN ('property_company',
    'residents_committee', 'owners_committee', 'elderly_care_centre', 'community_police',
    'grid_team', 'subdistrict_office'));

ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN ('admin', 'property_staff',
    'grid_worker', 'care_responder', 'viewer', 'supervisor'));
