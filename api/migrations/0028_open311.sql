-- Open311 GeoReport v2 (api/routes/open311.py): the client applications allowed to POST
-- service requests, each with an API key stored as its SHA-256 (the key is 32 random
-- bytes shown once: a fast hash of a high-entropy secret cannot be brute-forced, and a
-- lookup by hash needs no per-row salt), and what each request came with beyond the
-- case it opened (its service_request_id is the case id).
CREATE TABLE open311_clients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    key_hash    bytea NOT NULL UNIQUE,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE open311_requests (
    case_id         bigint PRIMARY KEY REFERENCES cases (id),
    client_id       bigint NOT NULL REFERENCES open311_clients (id),
    compound_id     text NOT NULL REFERENCES compounds (id),
    service_code    text NOT NULL,
    lat             double precision CHECK (lat BETWEEN -90 AND 90),
    long            double precision CHECK (long BETWEEN -180 AND 180),
    address_string  text,
    address_id      text,
    media_url       text,
    requested_at    timestamptz NOT NULL
);
CREATE INDEX open311_requests_listed ON open311_requests (compound_id, requested_at);
