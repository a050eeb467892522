-- The alarm list's keyset order within a compound (newest first by id, the cursor's key).
CREATE INDEX alarms_compound_id ON alarms (compound_id, id);
