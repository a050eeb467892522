"""The lifespan's parking sweep: every `parking_sweep_s` it pairs the plate reads stored
since the last sweep into stays and purges what retention ended (`parking.sweep`), in a
worker thread with a pooled connection. A failing round is logged and tried again on
the next; several API processes may run it (the sweep takes an advisory lock)."""

from __future__ import annotations

import logging

import anyio
from psycopg_pool import ConnectionPool, PoolTimeout

import parking
from domain import Clock

log = logging.getLogger(__name__)


def sweep_round(pool: ConnectionPool, clock: Clock) -> parking.SweepResult:
    with pool.connection() as conn:
        return parking.sweep(conn, clock.now())


async def run(pool: ConnectionPool, clock: Clock, *, every_s: float) -> None:
    if every_s <= 0:
        return
    while True:
        try:
            done = await anyio.to_thread.run_sync(sweep_round, pool, clock)
            if done.reads:
                log.info(
                    "parking: %d plate reads, %d entries, %d exits, %d missed,"
                    " %d residents' cars parked before the records began",
                    done.reads,
                    done.entries,
                    done.exits,
                    done.exit_missed + done.entry_missed,
                    done.entered_before,
                )
        except (parking.ParkingError, PoolTimeout) as exc:
            log.warning("parking sweep failed this round: %s", exc)
        await anyio.sleep(every_s)
