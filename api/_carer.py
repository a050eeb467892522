"""The lifespan's care sweep: every `care_sweep_s` it schedules the follow-up visits of
cases closed in that mode and turns overdue visits and missed meals into cases
(`care.run_once`), through the app's case workflow, in a worker thread with a pooled
connection. A failing round is logged and tried again on the next; several API
processes may sweep at once (each case is claimed once)."""

from __future__ import annotations

import logging

import anyio
from psycopg_pool import ConnectionPool, PoolTimeout

import care
import cases
from domain import Clock

log = logging.getLogger(__name__)


def sweep_round(pool: ConnectionPool, workflow: cases.Workflow, clock: Clock) -> care.Sweep:
    with pool.connection() as conn:
        return care.run_once(conn, workflow, clock.now())


async def run(
    pool: ConnectionPool, workflow: cases.Workflow, clock: Clock, *, every_s: float
) -> None:
    if every_s <= 0:
        return
    while True:
        try:
            done = await anyio.to_thread.run_sync(sweep_round, pool, workflow, clock)
            if done.follow_ups or done.visit_cases or done.meal_cases or done.unrecorded_cases:
                log.info(
                    "care: %d follow-ups scheduled, %d overdue visits, %d missed meals and"
                    " %d meals not recorded became cases",
                    done.follow_ups,
                    done.visit_cases,
                    done.meal_cases,
                    done.unrecorded_cases,
                )
        except (care.CareError, cases.CasesError, PoolTimeout) as exc:
            log.warning("care sweep failed this round: %s", exc)
        await anyio.sleep(every_s)
