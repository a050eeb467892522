-- Quiet hours set through the API (owner: registry), beside the compound file's, as
-- contacts are (0015): staff_quiet_hours.source 'file' (rewritten by every load) or
-- 'api' (an administrator's or the person's own edit, which a load leaves alone). While a
-- person has an 'api' row it is the one used; an 'api' row without times says "no quiet
-- hours" whatever the file says. Removing it brings the file's back.
ALTER TABLE staff_quiet_hours
    ADD COLUMN source text NOT NULL DEFAULT 'file' CHECK (source IN ('file', 'api')),
    ALTER COLUMN starts DROP NOT NULL,
    ALTER COLUMN ends DROP NOT NULL,
    ADD CHECK ((starts IS NULL) = (ends IS NULL)),
    ADD CHECK (starts IS NOT NULL OR source = 'api'),
    DROP CONSTRAINT staff_quiet_hours_pkey,
    ADD PRIMARY KEY (compound_id, staff_id, source);
