"""The hand-off from the rule engine to the governance loop: `AlarmsToCases` is the
rules' `AlarmSink` that cases provide. An opened alarm opens (or joins) a case, a
cleared one leaves a note on it. Repeats (`updated`) are not forwarded: each would
join as a duplicate.

It runs on the rule engine's thread. A failed intake (database down) is kept and
retried with the next alarm; the alarm itself is already durable in `alarms`, and the
supervisor takes in any alarm whose intake was lost in a crash (`alarm_intakes`).
"""

from __future__ import annotations

import logging

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

import registry
import rules
from cases._errors import CasesError
from cases._model import AlarmCleared, AlarmNotice
from cases._workflow import Workflow

log = logging.getLogger(__name__)


class AlarmsToCases:
    # Alarms kept for retry while the database refuses: hours of a compound's alarms.
    RETRY_LIMIT = 10_000

    def __init__(self, db: ConnectionPool, workflow: Workflow) -> None:
        self._db = db
        self._workflow = workflow
        self._retry: list[AlarmNotice | AlarmCleared] = []

    def emit(self, change: rules.AlarmChange) -> None:
        if change.change is rules.ChangeKind.OPENED:
            self._retry.append(notice(change))
        elif change.change is rules.ChangeKind.CLEARED:
            self._retry.append(
                AlarmCleared(
                    fingerprint=change.fingerprint,
                    compound=change.compound,
                    values=dict(change.values),
                    cleared_at=change.cleared_at or change.emitted_at,
                )
            )
        else:
            return
        self._flush()

    def _flush(self) -> None:
        try:
            with self._db.connection() as conn:
                while self._retry:
                    item = self._retry[0]
                    if isinstance(item, AlarmNotice):
                        self._workflow.intake_alarm(conn, item)
                    else:
                        self._workflow.alarm_cleared(conn, item)
                    self._retry.pop(0)
        except (psycopg.Error, PoolTimeout, CasesError, registry.RegistryError) as exc:
            log.error("case intake failed, %d alarm(s) kept for retry: %s", len(self._retry), exc)
            del self._retry[: max(0, len(self._retry) - self.RETRY_LIMIT)]


def notice(change: rules.AlarmChange) -> AlarmNotice:
    """An opened alarm as the intake takes it."""
    return AlarmNotice(
        fingerprint=change.fingerprint,
        rule_id=change.rule_id,
        title=change.title,
        severity=change.severity,
        category=change.rule_id,  # routing and SLA tables are keyed on the rule id
        compound=change.compound,
        device_id=change.device,
        flat=change.flat,
        values=dict(change.values),
        opened_at=change.first_seen,
        alarm_id=change.alarm_id,
    )
