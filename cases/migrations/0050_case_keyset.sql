-- The case list's keyset order within a compound (newest first by id, the cursor's key):
-- a compound's or an organisation's page reads its cases in order instead of filtering
-- the whole primary-key index (issue 20: a district's year is ~100k cases).
CREATE INDEX cases_compound_id ON cases (compound_id, id);
