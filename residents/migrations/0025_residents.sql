-- Residents' own accounts (owned by `residents`): a phone number that signed in with a
-- one-time code, linked to a household of the registry only once a grid worker or an
-- admin confirms it; the codes (hashed, short-lived, single use); the sign-in throttle
-- per number and per client address; and which cases a resident reported.

CREATE TABLE resident_accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone         text NOT NULL UNIQUE,      -- E.164, e.g. +8613800138000
    language      text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en')),
    token_epoch   integer NOT NULL DEFAULT 0, -- advanced to sign every device out
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz
);

-- A resident's claim to live in a flat; `confirmed_at` set by staff (a grid worker of
-- the flat's grid, or an admin). Several residents per household.
CREATE TABLE resident_households (
    resident_id   bigint NOT NULL REFERENCES resident_accounts (id) ON DELETE CASCADE,
    compound_id   text NOT NULL,
    flat          text NOT NULL,
    requested_at  timestamptz NOT NULL,
    confirmed_at  timestamptz,
    confirmed_by  text,
    PRIMARY KEY (resident_id),  -- one household per resident account
    FOREIGN KEY (compound_id, flat) REFERENCES households ON DELETE CASCADE
);
CREATE INDEX resident_households_flat ON resident_households (compound_id, flat);

-- One-time sign-in codes: only a hash is kept (HMAC-SHA256 under the deployment key),
-- one live code per number, void after `expires_at`, its first right use, or too many
-- wrong ones.
CREATE TABLE resident_codes (
    phone       text PRIMARY KEY,
    code_hash   text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    wrong       integer NOT NULL DEFAULT 0
);

-- Sign-in attempts counted per window: kind 'send' and 'verify' per number, 'client'
-- per client address (across numbers).
CREATE TABLE resident_throttle (
    kind          text NOT NULL CHECK (kind IN ('send', 'verify', 'client')),
    key           text NOT NULL,
    window_start  timestamptz NOT NULL,
    count         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
);

-- The cases residents reported, and the household each was reported from (NULL for an
-- anonymous report): what a resident may see is their own and their household's.
CREATE TABLE resident_reports (
    case_id       bigint PRIMARY KEY REFERENCES cases (id),
    resident_id   bigint NOT NULL REFERENCES resident_accounts (id) ON DELETE CASCADE,
    compound_id   text NOT NULL,
    flat          text,
    anonymous     boolean NOT NULL DEFAULT false,
    callback      text,                     -- the call-back number of an anonymous report
    reported_at   timestamptz NOT NULL
);
CREATE INDEX resident_reports_resident ON resident_reports (resident_id);
CREATE INDEX resident_reports_household ON resident_reports (compound_id, flat);
