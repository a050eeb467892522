"""From an SOS published over a real broker to an alarm: the rule engine beside the
gateway evaluates before storage commits, and a redelivered or repeated SOS updates the
one open alarm."""

from __future__ import annotations

from typing import Any

import psycopg

import rules
from domain import Severity
from tests.factories import SOS, dumps, now_ms, topic
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import Publisher


def test_a_repeated_sos_becomes_one_alarm_stamped_after_it_was_received(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    sink = rules.CollectingSink()
    t = now_ms()
    with run_gateway(sink=sink):
        fleet.publish(topic("elder", SOS, "event"), dumps({"ts": t, "seq": 1, "type": "sos"}))
        fleet.publish(topic("elder", SOS, "event"), dumps({"ts": t, "seq": 1, "type": "sos"}))
        fleet.publish(topic("elder", SOS, "event"), dumps({"ts": t + 5, "seq": 2, "type": "sos"}))
        assert wait_for(conn, "SELECT max(count) FROM alarms WHERE cleared_at IS NULL", 2) == 2
        assert wait_for(conn, "SELECT count(*) FROM events WHERE type = 'sos'", 2) == 2

    opened = [c for c in sink.changes if c.change is rules.ChangeKind.OPENED]
    assert len(opened) == 1
    alarm = opened[0]
    assert alarm.device == SOS
    assert alarm.severity is Severity.CRITICAL
    assert alarm.received_at is not None
    # The latency itself is measured by `dayuan bench rules`, not asserted here.
    assert alarm.emitted_at >= alarm.received_at
    rows = conn.execute("SELECT count(*) FROM alarms").fetchone()
    assert rows == (1,)


def test_an_sos_opens_one_case_dispatched_to_the_care_responders(
    run_gateway: GatewayFactory, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    t = now_ms()
    with run_gateway(with_cases=True):
        for i in range(3):
            fleet.publish(
                topic("elder", SOS, "event"), dumps({"ts": t + i, "seq": 10 + i, "type": "sos"})
            )
        assert wait_for(conn, "SELECT count(*) FROM cases", 1) == 1
        assert wait_for(conn, "SELECT max(count) FROM alarms", 3) == 3
    case = conn.execute("SELECT category, severity, state FROM cases").fetchone()
    assert case == ("sos", "critical", "dispatched")
    parties = {r[0] for r in conn.execute("SELECT party_kind FROM case_assignments")}
    assert "elderly_care_centre" in parties
