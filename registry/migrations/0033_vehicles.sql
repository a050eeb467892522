-- The vehicle registry (owner: registry): residents' plates per household, and visitors'
-- plates pre-registered for a window. Plates are personal data (PIPL): they carry a
-- retention class, `vehicle_plate` (kept while the household registers the car; deleted
-- with the registration or the household) and `visitor_plate` (deleted VISITOR_KEEP,
-- 30 days, after the window ends: `registry.purge_visitor_passes`). Set through the API
-- only: a compound file load leaves them alone. The rules read them as
-- `registry.known_plates` (the unknown-plate overstay rule), parking to price a stay.

CREATE TABLE vehicles (
    compound_id  text NOT NULL,
    plate        text NOT NULL CHECK (char_length(plate) BETWEEN 7 AND 8),
    flat         text NOT NULL,
    retention    text NOT NULL DEFAULT 'vehicle_plate' CHECK (retention = 'vehicle_plate'),
    added_at     timestamptz NOT NULL,
    added_by     text NOT NULL,
    PRIMARY KEY (compound_id, plate),
    FOREIGN KEY (compound_id, flat) REFERENCES households ON DELETE CASCADE
);
CREATE INDEX vehicles_flat ON vehicles (compound_id, flat);

CREATE TABLE visitor_passes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id    text NOT NULL REFERENCES compounds (id) ON DELETE CASCADE,
    plate          text NOT NULL CHECK (char_length(plate) BETWEEN 7 AND 8),
    flat           text,  -- the household visited, when one is named
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz NOT NULL CHECK (valid_to > valid_from),
    retention      text NOT NULL DEFAULT 'visitor_plate' CHECK (retention = 'visitor_plate'),
    purge_after    timestamptz NOT NULL CHECK (purge_after >= valid_to),
    registered_at  timestamptz NOT NULL,
    registered_by  text NOT NULL,
    FOREIGN KEY (compound_id, flat) REFERENCES households ON DELETE CASCADE
);
CREATE INDEX visitor_passes_plate ON visitor_passes (compound_id, plate, valid_to);
CREATE INDEX visitor_passes_purge ON visitor_passes (purge_after);
