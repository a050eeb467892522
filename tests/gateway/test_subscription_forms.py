"""A gateway's session outlives its configuration: one that ran in a share group and comes
back alone (or the other way round) finds its restored session still holding the other
form's subscription, and would receive every message twice. It drops that filter when
the broker says the session is present."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.factories import LIGHT, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import Publisher

MESSAGES = 30


def _publish(fleet: Publisher, t: int, seqs: range) -> None:
    for i in seqs:
        fleet.publish(
            topic("light", LIGHT, "telemetry"),
            dumps({"ts": t + i, "seq": i, "values": {"power_w": float(i)}}),
        )


def test_a_gateway_back_alone_after_a_share_group_receives_each_message_once(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    gateway_id = f"forms-{uuid.uuid4().hex[:6]}"
    with run_gateway(share_group="dayuan", gateway_id=gateway_id) as gw:
        assert gw.connected.wait(10)
    with run_gateway(share_group="", gateway_id=gateway_id) as gw:  # the session is restored
        assert gw.connected.wait(10)
        t = now_ms()
        _publish(fleet, t, range(MESSAGES))
        stored = f"SELECT count(*) FROM telemetry WHERE device_id = '{LIGHT}'"
        assert wait_for(conn, stored, MESSAGES) == MESSAGES
        # The broker routes a message to each matching subscription as it arrives, in
        # order on one connection: once the last is stored, any second copy has come.
        _publish(fleet, t, range(MESSAGES, MESSAGES + 1))
        assert wait_for(conn, stored, MESSAGES + 1) == MESSAGES + 1
        assert gw.metrics.received == MESSAGES + 1
