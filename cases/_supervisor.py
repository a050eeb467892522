"""The supervisor (督办): escalates cases whose watched deadline has passed.

Each case carries `supervise_at`, the next deadline that matters (to acknowledge,
then to resolve); one pass escalates every case due by `now` one rung up the ladder
(assignee -> grid lead -> community -> subdistrict), each in its own transaction, so
two supervisors running at once escalate a case once (the second sees it moved on).

`watch_from` narrows it to deadlines that pass from then on: `dayuan up` sets it to its
own start, so that cases opened from replayed history (or left by an earlier run),
whose deadlines were already gone when it started, are shown as they are instead of
all escalating in the first pass. Acting on such a case sets a new deadline, which is
watched. The standalone `dayuan supervisor` watches every deadline (a deadline missed
while it was down is still missed).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from cases import _store as store
from cases._db import Conn, transaction
from cases._model import CaseEvent
from cases._workflow import Workflow
from domain import Clock

log = logging.getLogger(__name__)

# Cases looked at per pass: a district's backlog after an outage, without one
# transaction holding the whole table; the next pass takes the rest.
BATCH = 500
# How often the loop wakes by default: the tightest deadline is 60 s (SOS, fall), so a
# 5 s pass escalates within a tenth of it.
DEFAULT_INTERVAL_S = 5.0


class Supervisor:
    def __init__(
        self,
        conn: Conn,
        *,
        workflow: Workflow,
        clock: Clock,
        watch_from: datetime | None = None,
    ) -> None:
        self._conn = conn
        self._workflow = workflow
        self._clock = clock
        self._watch_from = watch_from

    def run_once(self, now: datetime) -> list[CaseEvent]:
        """Take in alarms whose intake was lost, then escalate every case due by `now`;
        return the escalations recorded."""
        missed = self._workflow.intake_missed(self._conn, now)
        if missed:
            log.warning(
                "took in %d alarm(s) whose case intake had been lost: case(s) %s",
                len(missed),
                ", ".join(str(i.case.id) for i in missed),
            )
        with transaction(self._conn):
            due = store.due_for_supervision(self._conn, now, BATCH, since=self._watch_from)
        escalated: list[CaseEvent] = []
        for case_id in due:
            escalated += self._workflow.escalate_if_due(self._conn, case_id, now)
        return escalated

    def run(self, stop: threading.Event, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        """Pass after pass until `stop` is set."""
        log.info("case supervisor running every %.1f s", interval_s)
        while not stop.is_set():
            escalated = self.run_once(self._clock.now())
            if escalated:
                log.info("escalated %d case(s)", len(escalated))
            stop.wait(interval_s)
