"""The acks the gateway stored, as the API reads them to complete its commands: only
from the commanded device, placed by when they were received, not by the device's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg

import ingest
from domain import Ack, Message, Topic
from tests.factories import BARRIER, COMPOUND, LIGHT
from tests.ingest.test_storage import _write

Result = Literal["ok", "error", "rejected"]
SENT = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def _ack(
    kind: str, device: str, cid: str, result: Result, *, ts: datetime, received: datetime
) -> Message:
    topic = Topic.parse(f"dayuan/v1/{COMPOUND}/{kind}/{device}/ack")
    return Message(topic, Ack(ts=ts, correlation_id=cid, result=result), received)


def test_an_ack_counts_from_the_commanded_device_received_since_the_command(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    late_clock = SENT - timedelta(days=1)  # the light's clock is a day behind
    _write(
        db_url,
        [
            _ack(
                "barrier", BARRIER, "c-1", "rejected", ts=SENT, received=SENT + timedelta(seconds=1)
            ),
            _ack("light", LIGHT, "c-1", "ok", ts=late_clock, received=SENT + timedelta(seconds=2)),
            _ack("light", LIGHT, "c-0", "ok", ts=SENT, received=SENT - timedelta(minutes=1)),
        ],
    )
    found = ingest.acks_for(conn, [(LIGHT, "c-1"), (LIGHT, "c-0")], since=SENT)
    assert found == [
        ingest.StoredAck("c-1", LIGHT, "ok", None, SENT + timedelta(seconds=2)),
    ]
    assert ingest.acks_for(conn, [], since=SENT) == []
