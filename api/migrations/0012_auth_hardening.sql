-- Authentication hardening (issue 14): a throttle row per (username, client) and per
-- client, locked while a login is checked so that concurrent guesses cannot overrun it,
-- and a token epoch per user that a password change advances (older tokens die).

DROP TABLE api_login_failures;

-- One row per throttled key: 'user' rows are (username, client) with an exponential
-- lock-out; 'client' rows count one address's failures across all usernames in a fixed
-- window. `failures` counts attempts reserved before the password was checked; a
-- successful login clears its 'user' row.
CREATE TABLE api_login_throttle (
    kind          text NOT NULL CHECK (kind IN ('user', 'client')),
    username      text NOT NULL,   -- '' for 'client' rows
    client        text NOT NULL,
    failures      integer NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL,
    last_at       timestamptz NOT NULL,
    locked_until  timestamptz,
    PRIMARY KEY (kind, username, client)
);
CREATE INDEX api_login_throttle_last_at ON api_login_throttle (last_at);

-- Tokens carry the epoch they were issued in; a password change advances it.
ALTER TABLE api_users ADD COLUMN token_epoch integer NOT NULL DEFAULT 0;
