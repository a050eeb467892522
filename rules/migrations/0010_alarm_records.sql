-- What other packages read of the alarms (cases' recovery of lost intakes, the API's
-- lists): a view the rules own, so that nobody else reads their tables directly.
CREATE VIEW alarm_records AS
SELECT id, fingerprint, rule_id, title, severity, compound_id, device_id, flat, subject,
       count, first_seen, last_seen, opened_at, updated_at, cleared_at, flapping,
       trigger_values, clear_values
FROM alarms;
