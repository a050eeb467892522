-- An account of a residents' committee or a subdistrict office (issue 20): the role
-- `supervisor` sees its organisation's compounds' cases and acts on them.
ALTER TABLE api_users DROP CONSTRAINT api_users_role_check;
ALTER TABLE api_users ADD CONSTRAINT api_users_role_check CHECK (role IN ('admin',
    'property_staff', 'grid_worker', 'care_responder', 'viewer', 'supervisor'));
