-- Photos of residents' reports (owned by `residents`): re-encoded by Pillow (no EXIF,
-- no GPS, nothing but pixels), kept with the case under retention class `case_photo`:
-- deleted `purge_after` (set when the case closes or is cancelled: closed + 180 days;
-- NULL while it is open).

CREATE TABLE case_photos (
    case_id       bigint NOT NULL REFERENCES cases (id),
    n             smallint NOT NULL CHECK (n BETWEEN 1 AND 3),
    media_type    text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
    width         integer NOT NULL CHECK (width > 0),
    height        integer NOT NULL CHECK (height > 0),
    data          bytea NOT NULL,
    retention     text NOT NULL DEFAULT 'case_photo' CHECK (retention = 'case_photo'),
    stored_at     timestamptz NOT NULL,
    purge_after   timestamptz,
    PRIMARY KEY (case_id, n)
);
CREATE INDEX case_photos_purge ON case_photos (purge_after) WHERE purge_after IS NOT NULL;
