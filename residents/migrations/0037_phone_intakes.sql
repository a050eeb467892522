-- A report taken by phone at the desk (owned by `residents`): the caller's call-back
-- number, kept apart from the case (whose history goes to every reader and the live
-- feed) and read by staff as an anonymous report's is, audited.
CREATE TABLE phone_intakes (
    case_id   bigint PRIMARY KEY REFERENCES cases (id),
    callback  text NOT NULL,  -- E.164
    taken_by  text NOT NULL,  -- the staff account that took the call
    taken_at  timestamptz NOT NULL
);
