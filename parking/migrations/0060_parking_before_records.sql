-- A resident's car that leaves in the first day of pairing, never seen entering, was
-- parked before the records began: `entered_before`, not a missed read (the first
-- morning of a new installation is otherwise hundreds of "missed entries").
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tab, conname FROM pg_constraint
             WHERE conrelid IN ('parking_stays'::regclass, 'parking_reads'::regclass)
               AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%entry_missed%'
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tab, c.conname);
    END LOOP;
END $$;
ALTER TABLE parking_stays ADD CONSTRAINT parking_stays_status CHECK (status IN
    ('open', 'closed', 'exit_missed', 'entry_missed', 'entered_before'));
ALTER TABLE parking_stays ADD CONSTRAINT parking_stays_entry CHECK
    (entered_at IS NOT NULL OR status IN ('entry_missed', 'entered_before'));
ALTER TABLE parking_reads ADD CONSTRAINT parking_reads_taken_as CHECK (taken_as IN
    ('entry', 'exit', 'entry_missed', 'repeat', 'entered_before'));
