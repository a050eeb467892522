"""The lifespan's announcement sender: every `announce_poll_s` it plans and sends the
announcements whose window opened (`announce.run_once`) through notify's channels,
in a worker thread with a pooled connection, to households' emergency contacts and,
through `ResidentChannel`, to their confirmed residents (`residents`, which announce
may not import). A failing round is logged and tried again on the next; several API
processes may run it at once (rows are claimed)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from psycopg_pool import ConnectionPool, PoolTimeout

import announce
import notify
import residents
from api._db import Conn
from domain import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResidentChannel:
    """`announce.ResidentChannel` from residents' public API and their channel sender."""

    sender: residents.Sender

    def residents(self, conn: Conn, compound: str, flat: str) -> Sequence[announce.ResidentContact]:
        return [
            announce.ResidentContact(r.id, r.phone, r.language)
            for r in residents.confirmed_residents(conn, compound, flat)
        ]

    def send(self, contact: announce.ResidentContact, subject: str, text: str, *, key: str) -> None:
        self.sender(contact.phone, subject, text, key=key)


def send_round(
    pool: ConnectionPool,
    clock: Clock,
    deliver: notify.Deliver,
    resident_channel: announce.ResidentChannel | None = None,
) -> announce.Round:
    with pool.connection() as conn:
        return announce.run_once(conn, deliver, clock.now(), residents=resident_channel)


async def run(
    pool: ConnectionPool,
    clock: Clock,
    *,
    every_s: float,
    webhook_secret: str | None,
    resident_channel: announce.ResidentChannel | None = None,
) -> None:
    if every_s <= 0:
        return
    deliver = notify.Channels(webhook_secret=webhook_secret)
    while True:
        try:
            done = await anyio.to_thread.run_sync(
                send_round, pool, clock, deliver, resident_channel
            )
            if done.sent or done.failed:
                log.info("announcements: %d sent, %d failed", done.sent, done.failed)
        except (announce.AnnounceError, residents.ResidentsError, PoolTimeout) as exc:
            log.warning("announcements not sent this round: %s", exc)
        await anyio.sleep(every_s)
