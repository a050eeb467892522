-- The case list's keyset order within a compound (newest first by id, the cursor's key):
-- a compound's or an organisation's page reads its cases in order instead of filtering
-- the whole primary-key index (issue 20: a district's year is ~150k cases).
CREATE INDEX cases_compound_id ON cases (compound_id, id);
-- The KPIs of a period across compounds (the default: the last 30 days) read that
-- period's cases, not the whole table (cases_compound_opened needs the compound).
CREATE INDEX cases_opened ON cases (opened_at);
