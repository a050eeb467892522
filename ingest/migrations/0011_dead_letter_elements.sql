-- Issue 14: one dead letter per delivery. `refused` is how many objects the row stands for
-- (refused elements of an array, or, reason `suppressed`, dead letters left out by the
-- gateway's per-device budget); `elements` lists the first refused elements of an array
-- as [index, reason] pairs (NULL for a whole payload).
ALTER TABLE dead_letters
    ADD COLUMN refused integer NOT NULL DEFAULT 1,
    ADD COLUMN elements jsonb;

-- Dead letters stored before this release kept up to 4 KiB of a face payload: erase it.
UPDATE dead_letters SET payload = ''::bytea WHERE reason = 'privacy_violation';
