-- When each stay ended (owner: parking): the exit read of a closed stay, the next entry
-- of a stay that ended `exit_missed` (which has no exit time), the exit read of an
-- `entry_missed` one; NULL while open. The takings of a period (`parking.fees`) are the
-- fees of the stays that ended in it. Existing stays: their end is the read that also set
-- `purge_after` (PARKING_KEEP, 90 days, before it).

ALTER TABLE parking_stays ADD COLUMN ended_at timestamptz;
UPDATE parking_stays SET ended_at = coalesce(exited_at, purge_after - interval '90 days')
    WHERE status <> 'open';
ALTER TABLE parking_stays ADD CONSTRAINT parking_stays_ended
    CHECK ((status = 'open') = (ended_at IS NULL));
CREATE INDEX parking_stays_ended_at ON parking_stays (compound_id, ended_at)
    WHERE ended_at IS NOT NULL;
