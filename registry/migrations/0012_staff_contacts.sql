-- Staff contact points (compound file `staff[].contacts`): Apprise URLs in order of
-- preference, read by the notifier. Apart from `staff` because a URL may carry a
-- password or token: the change log records only that it changed (a personal table).
CREATE TABLE staff_contacts (
    compound_id  text NOT NULL,
    staff_id     text NOT NULL,
    position     smallint NOT NULL CHECK (position >= 0),  -- 0: the preferred one
    url          text NOT NULL,
    PRIMARY KEY (compound_id, staff_id, position),
    FOREIGN KEY (compound_id, staff_id) REFERENCES staff ON DELETE CASCADE
);
REVOKE ALL ON staff_contacts FROM PUBLIC;
