"""How each compound's cases stand now, for a district's view of many compounds: one
query over the cases a reader's `registry.Scope` sees, grouped by compound, so that a
district of 196 compounds is one read and not 196.

A case's *next deadline* is its `ack_due` while it is not acknowledged, else its
`resolve_due` (the SLA promises made at intake; the earlier one if a policy ever put
them the other way round). An open case is *overdue* once its next deadline has passed
(what the case board outlines red), *due soon* when it falls within `soon` of now. A
compound's SLA state is its worst open case's: overdue, due soon, on time, or clear
(no open case). Worst first is: more overdue cases first, then the nearest next
deadline (the longest overdue, among compounds with as many overdue cases).

The on-time rate is the KPIs' (`cases.kpis`): of the cases received since `since`,
closed on time over those due (neither cancelled nor merged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import registry
from cases._db import Conn
from cases._reads import _OPEN_STATES, _reading, _scope_filter

# An open case whose next deadline is closer than this is "due soon": an hour is what a
# community office still acts on (a call, a person sent) before the promise is broken.
DUE_SOON = timedelta(hours=1)


class SlaState(StrEnum):
    """A compound's worst open case, worst first."""

    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    ON_TIME = "on_time"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class CompoundCases:
    compound: str
    open: int
    critical: int  # open cases of severity critical
    overdue: int  # open cases past their next deadline
    critical_overdue: int
    due_soon: int  # open cases whose next deadline is within `soon`, not yet passed
    escalated: int  # open cases escalated at least once up the ladder
    next_due: datetime | None  # the earliest next deadline of its open cases
    due: int  # received since `since`, neither cancelled nor merged
    closed_on_time: int  # of those, closed and resolved by their resolve_due

    @property
    def sla(self) -> SlaState:
        if self.overdue:
            return SlaState.OVERDUE
        if self.due_soon:
            return SlaState.DUE_SOON
        return SlaState.ON_TIME if self.open else SlaState.CLEAR

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.due if self.due else None


_NEXT_DUE = (
    "CASE WHEN c.acknowledged_at IS NULL THEN least(c.ack_due, c.resolve_due)"
    " ELSE c.resolve_due END"
)
_SQL = """
WITH s AS (
    SELECT c.compound_id, c.severity, c.escalations, c.opened_at, c.state,
        c.resolved_at, c.resolve_due, c.state = ANY(%(open_states)s) AS open,
        {next_due} AS next_due
    FROM cases c
    WHERE (c.state = ANY(%(open_states)s) OR c.opened_at >= %(since)s){scope}
)
SELECT compound_id,
    count(*) FILTER (WHERE open) AS open,
    count(*) FILTER (WHERE open AND severity = 'critical') AS critical,
    count(*) FILTER (WHERE open AND next_due < %(now)s) AS overdue,
    count(*) FILTER (WHERE open AND severity = 'critical' AND next_due < %(now)s),
    count(*) FILTER (WHERE open AND next_due >= %(now)s AND next_due < %(soon)s) AS due_soon,
    count(*) FILTER (WHERE open AND escalations > 0) AS escalated,
    min(next_due) FILTER (WHERE open) AS next_due,
    count(*) FILTER (WHERE opened_at >= %(since)s AND state NOT IN ('cancelled', 'merged')),
    count(*) FILTER (WHERE opened_at >= %(since)s AND state = 'closed'
        AND resolved_at <= resolve_due)
FROM s
GROUP BY compound_id
ORDER BY overdue DESC, next_due ASC NULLS LAST, compound_id
"""


def compound_cases(
    conn: Conn,
    *,
    scope: registry.Scope,
    now: datetime,
    since: datetime,
    soon: timedelta = DUE_SOON,
) -> list[CompoundCases]:
    """Per compound that has an open case or one received since `since`, among the
    cases `scope` sees (a grid-bound reader: their grids'; an elderly-care one: those
    sent to the care centre), worst SLA first. A compound with neither is left out."""
    query = _SQL.format(next_due=_NEXT_DUE, scope=_scope_filter(scope))
    params = {
        **scope.params(),
        "open_states": _OPEN_STATES,
        "now": now,
        "soon": now + soon,
        "since": since,
    }
    with _reading("summing the cases by compound failed"):
        found = conn.execute(query, params).fetchall()
    return [CompoundCases(*row) for row in found]
