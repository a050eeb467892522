-- Every account belongs to one organisation (issue 20) and sees only the compounds that
-- organisation serves; the accounts that existed before are the platform operator's.
ALTER TABLE api_users ADD COLUMN organisation_id text NOT NULL DEFAULT 'platform'
    REFERENCES organisations (id);
ALTER TABLE api_users ALTER COLUMN organisation_id DROP DEFAULT;
CREATE INDEX api_users_organisation ON api_users (organisation_id);
