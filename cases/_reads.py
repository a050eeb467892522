"""What others read of the cases in bulk: counts for the monitoring gauges.
psycopg's errors leave as `CaseStoreError`."""

from __future__ import annotations

import psycopg

from cases._db import Conn, translated
from cases._model import State


def count_by_state(conn: Conn) -> dict[State, int]:
    """The cases by state, in order of the state's name; a state without a case is
    left out."""
    try:
        found = conn.execute(
            "SELECT state, count(*) FROM cases GROUP BY state ORDER BY state"
        ).fetchall()
    except psycopg.Error as exc:
        raise translated(exc, "counting the cases failed") from exc
    return {State(state): int(n) for state, n in found}
