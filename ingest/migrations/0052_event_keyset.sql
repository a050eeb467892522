-- The event lists' order and cursor key (newest first, then the unique key's other
-- columns): a page of the last day reads the index in order instead of sorting the
-- day's events; the unique key (device_id first) serves only one device's events.
CREATE INDEX events_keyset ON events (ts DESC, device_id, type, seq);
CREATE INDEX access_events_keyset ON access_events (ts DESC, device_id, type, seq);
