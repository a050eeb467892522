-- Repeat until acknowledged, and the acknowledgement link (owner: notify).
--   notifications.round     0: planned from the case event; n: the n-th repeat
--   notifications.answer    what its link's owner answered ('going', 'cannot'); set once:
--                           the link is single-use (answered_at says when)
--   notify_repeats          one row per case whose SOS or fall dispatch must be repeated
--                           until someone acknowledges: who was reached, in call-list
--                           order, who said they cannot, and when the next round is due.
--                           Notifiers share the rows with FOR UPDATE SKIP LOCKED.
ALTER TABLE notifications
    ADD COLUMN round integer NOT NULL DEFAULT 0,
    ADD COLUMN answer text CHECK (answer IN ('going', 'cannot')),
    ADD COLUMN answered_at timestamptz;

CREATE TABLE notify_repeats (
    case_id        bigint PRIMARY KEY,
    case_event_id  bigint NOT NULL REFERENCES notify_outbox (case_event_id),
    round          integer NOT NULL DEFAULT 0,
    reached        text[] NOT NULL,            -- staff told so far, call-list order
    declined       text[] NOT NULL DEFAULT '{}',  -- staff who answered "I cannot"
    next_at        timestamptz,                -- NULL: finished
    finished_at    timestamptz,
    finished_why   text                        -- acknowledged, closed, rounds exhausted
);
CREATE INDEX notify_repeats_due ON notify_repeats (next_at) WHERE next_at IS NOT NULL;
REVOKE ALL ON notify_repeats FROM PUBLIC;
