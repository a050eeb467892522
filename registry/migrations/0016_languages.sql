-- What a person's notifications are written in (issue 16): `staff[].language` and
-- `households[].emergency_contacts[].language` of the compound file, 'zh' by default.
--   staff_languages   a row for each staff member who does not read Chinese (no row:
--                     Chinese, as for a person the API created).
CREATE TABLE staff_languages (
    compound_id  text NOT NULL,
    staff_id     text NOT NULL,
    language     text NOT NULL CHECK (language IN ('zh', 'en')),
    PRIMARY KEY (compound_id, staff_id),
    FOREIGN KEY (compound_id, staff_id) REFERENCES staff ON DELETE CASCADE
);

ALTER TABLE emergency_contacts
    ADD COLUMN language text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en'));
