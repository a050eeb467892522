-- Alarms by when they opened: the supervisor looks for alarms of the last day that no
-- case intake took (cases' `alarm_intakes`, migration 0007 too).
CREATE INDEX alarms_opened ON alarms (opened_at);
