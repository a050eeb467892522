"""The lifespan's announcement sender: every `announce_poll_s` it plans and sends the
announcements whose window opened (`announce.run_once`) through notify's channels,
in a worker thread with a pooled connection. A failing round is logged and tried
again on the next; several API processes may run it at once (rows are claimed)."""

from __future__ import annotations

import logging

import anyio
from psycopg_pool import ConnectionPool, PoolTimeout

import announce
import notify
from domain import Clock

log = logging.getLogger(__name__)


def send_round(pool: ConnectionPool, clock: Clock, deliver: notify.Deliver) -> announce.Round:
    with pool.connection() as conn:
        return announce.run_once(conn, deliver, clock.now())


async def run(
    pool: ConnectionPool, clock: Clock, *, every_s: float, webhook_secret: str | None
) -> None:
    if every_s <= 0:
        return
    deliver = notify.Channels(webhook_secret=webhook_secret)
    while True:
        try:
            done = await anyio.to_thread.run_sync(send_round, pool, clock, deliver)
            if done.sent or done.failed:
                log.info("announcements: %d sent, %d failed", done.sent, done.failed)
        except (announce.AnnounceError, PoolTimeout) as exc:
            log.warning("announcements not sent this round: %s", exc)
        await anyio.sleep(every_s)
