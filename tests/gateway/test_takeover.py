"""Taking over a departed gateway's session (`gateway.Takeover`) against the real
Mosquitto of the run: the share of a killed or stopped member moves to the rest of the
group, and what its session held is stored, once; the owner coming back mid-way takes
its session back; of several survivors one drains it. Real `dayuan gateway` processes
where the test is a SIGKILL, in-process gateways where a clean stop will do."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest

import ingest
from broker import MqttEndpoint
from dayuan import wiring
from domain import BACKEND_PREFIX
from gateway import (
    Batching,
    GatewayMetrics,
    Intake,
    Limits,
    MqttOptions,
    Presence,
    Receiver,
    State,
    Takeover,
    presence_topic,
)
from tests.factories import dumps, now_ms, topic
from tests.fix_gateway import (
    GatewayFactory,
    GatewayProcess,
    GatewayProcessFactory,
    settings_for,
    wait_for,
)
from tests.fix_mqtt import BACKEND, Broker, Publisher, own_broker, retained, session_present
from tests.gateway.fakes import FakeSink, FixedClock, Throttled
from tests.gateway.stream import (
    TOTAL,
    Stream,
    assert_exactly_once,
    stored,
    wait_all_stored,
    wait_stored_at_least,
)

# Mosquitto looks at delayed wills once a second: one second is its shortest delay.
FAST = {"takeover_delay_s": 1}
LONG = os.environ.get("DAYUAN_FAULTS") == "long"


def _ids(*names: str) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"{name}-{tag}" for name in names]


def _publish(fleet: Publisher, device: str, seqs: Iterable[int]) -> None:
    base = now_ms() - 100_000
    for seq in seqs:
        payload = {"ts": base + seq, "seq": seq, "values": {"power_w": 1.0}}
        fleet.publish(topic("light", device, "telemetry"), dumps(payload))


def _count(device: str) -> str:
    return f"SELECT count(DISTINCT seq) FROM telemetry WHERE device_id = '{device}'"


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _in_log(gw: GatewayProcess, text: str) -> bool:
    return _until(lambda: text in gw.log())


class PresenceWatch:
    """Every presence document published for one gateway, as the backend sees them."""

    def __init__(self, broker: Broker, group: str, gateway: str) -> None:
        self.seen: list[Presence] = []
        subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"w-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(BACKEND.username, BACKEND.password)
        self.client.on_message = lambda c, u, m: (
            self.seen.append(Presence.decode(m.payload)) if m.payload else None
        )
        self.client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            presence_topic(group, gateway), qos=1
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.wait(5)

    def states(self) -> list[State]:
        return [p.state for p in self.seen]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.client.on_message = None  # it closes a cycle through the client


@pytest.mark.skipif(
    not LONG,
    reason="a second gateway SIGKILL: the default suite's fault run (tests/faults/"
    "test_process_faults.py) has a killed gateway's session taken over losing nothing, and"
    " tests/gateway/test_resilience.py kills one mid-stream; DAYUAN_FAULTS=long",
)
def test_a_killed_gateway_s_share_moves_to_the_survivor_and_nothing_is_lost(
    gateway_process: GatewayProcessFactory,
    broker: Broker,
    fleet: Publisher,
    conn: psycopg.Connection[Any],
) -> None:
    a_id, b_id = _ids("a", "b")
    a = gateway_process(a_id, DAYUAN_TAKEOVER_DELAY_S="1")
    b = gateway_process(b_id, DAYUAN_TAKEOVER_DELAY_S="1")
    with Stream(broker):
        wait_stored_at_least(conn, TOTAL // 5, a)
        a.proc.kill()  # and it stays dead
        a.proc.wait()
        assert stored(conn) < TOTAL, "the stream finished before the kill: make it longer"
        assert wait_all_stored(conn) == TOTAL, b.log()
    assert_exactly_once(conn)  # a's unacknowledged and queued share included
    assert _in_log(b, f"takeover of gateway {a.client_id}'s session: drained"), b.log()
    # From now on a's former share goes to b at once: nothing waits for a's return.
    _publish(fleet, "bench-5", range(200))
    assert wait_for(conn, _count("bench-5"), 200, timeout=10) == 200
    assert retained(broker, presence_topic(a.share_group, a.client_id)) is None
    assert not session_present(broker, a.client_id)
    assert b.proc.poll() is None


def test_a_gateway_stopped_cleanly_hands_its_session_to_the_group(
    run_gateway: GatewayFactory, broker: Broker, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    group, a_id, b_id = _ids("g", "a", "b")
    # b's in-flight window is ten messages, so a's session is handed to it ten at a time:
    # ending the session before it is empty would lose the rest.
    with run_gateway(share_group=group, gateway_id=b_id, receive_maximum=10, **FAST) as b:
        with run_gateway(share_group=group, gateway_id=a_id, **FAST):
            _publish(fleet, "bench-5", range(100))
            assert wait_for(conn, _count("bench-5"), 100) == 100
        # a has left with its will; until b takes its session over, the broker goes on
        # routing a's share into it.
        _publish(fleet, "bench-5", range(100, 300))
        assert wait_for(conn, _count("bench-5"), 300, timeout=30) == 300
        assert _until(lambda: b.metrics.takeovers == 1)
        assert b.metrics.adopted > 0, "nothing reached a's session: the test proves nothing"
    rows = conn.execute("SELECT count(*) FROM telemetry WHERE device_id = 'bench-5'").fetchone()
    assert rows == (300,)
    assert not session_present(broker, f"dayuan-{a_id}")


def test_the_owner_back_mid_drain_takes_its_session_back(
    run_gateway: GatewayFactory,
    db_url: str,
    broker: Broker,
    fleet: Publisher,
    conn: psycopg.Connection[Any],
) -> None:
    group, a_id, b_id = _ids("g", "a", "b")
    watch = PresenceWatch(broker, group, f"dayuan-{a_id}")
    with wiring.pool(db_url) as db:
        mode, classes = ingest.current_mode(conn), ingest.data_classes(conn)
        slow = Throttled(ingest.Writer(db, mode=mode, classes=classes), delay_s=0.2)
        with run_gateway(
            share_group=group, gateway_id=b_id, store=slow, batch_max_messages=20, **FAST
        ) as b:
            with run_gateway(share_group=group, gateway_id=a_id, **FAST):
                pass  # a joins the group and leaves
            slow.slow.set()  # b's drain of a's session will take seconds
            _publish(fleet, "bench-6", range(600))
            assert _until(lambda: State.DRAINING in watch.states()), watch.states()
            with run_gateway(share_group=group, gateway_id=a_id, **FAST):  # a is back
                assert wait_for(conn, _count("bench-6"), 600, timeout=60) == 600
                assert watch.states()[-1] is State.ONLINE
                assert _until(lambda: b.metrics.adopted > 0)  # b's adoption has ended...
                assert b.metrics.takeovers == 0  # ...standing down, the session not ended
    watch.close()
    rows = conn.execute("SELECT count(*) FROM telemetry WHERE device_id = 'bench-6'").fetchone()
    assert rows == (600,)


def test_of_several_survivors_one_drains_the_session(
    run_gateway: GatewayFactory, broker: Broker, fleet: Publisher, conn: psycopg.Connection[Any]
) -> None:
    group, a_id, b_id, c_id = _ids("g", "a", "b", "c")
    with (
        run_gateway(share_group=group, gateway_id=b_id, **FAST) as b,
        run_gateway(share_group=group, gateway_id=c_id, **FAST) as c,
    ):
        with run_gateway(share_group=group, gateway_id=a_id, **FAST):
            pass
        _publish(fleet, "bench-7", range(300))
        assert wait_for(conn, _count("bench-7"), 300, timeout=30) == 300
        assert _until(lambda: b.metrics.takeovers + c.metrics.takeovers == 1)
        time.sleep(3)  # room for a second, wrong, drain to finish
        assert b.metrics.takeovers + c.metrics.takeovers == 1
    rows = conn.execute("SELECT count(*) FROM telemetry WHERE device_id = 'bench-7'").fetchone()
    assert rows == (300,)
    assert not session_present(broker, f"dayuan-{a_id}")


def test_a_broker_that_withholds_presence_is_reported(
    run_gateway: GatewayFactory,
    db_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tunable read as its module's global: patched where it is read.
    monkeypatch.setattr("gateway._takeover.ECHO_WAIT_S", 0.3)
    warning = "never came back"
    with caplog.at_level(logging.WARNING, logger="gateway._takeover"):
        with run_gateway(**FAST):  # the project's ACL: our presence comes back
            time.sleep(1)
        assert warning not in caplog.text
        # A broker whose ACL predates presence (generated by an older `dayuan broker config`).
        with own_broker(tmp_path, security=_without_presence) as old:
            settings = settings_for(db_url, old, **FAST)
            assert settings.mqtt_url is not None
            endpoint = settings.endpoint_for(settings.mqtt_url)
            with wiring.pool(db_url) as db, wiring.gateway(settings, db, endpoint) as gw:
                assert gw.connected.wait(10)
                assert _until(lambda: warning in caplog.text, timeout=5), caplog.text


def _without_presence(document: dict[str, Any]) -> dict[str, Any]:
    """The backend may send presence (its will) and subscribe, but never receives it."""
    for role in document["roles"]:
        role["acls"] = [
            a
            for a in role["acls"]
            if not (
                a["topic"].startswith(BACKEND_PREFIX) and a["acltype"] == "publishClientReceive"
            )
        ]
    return document


# --- the protocol's parts, without a broker ---------------------------------------------


def test_presence_round_trips_and_refuses_what_is_not_one() -> None:
    presence = Presence(State.DRAINING, "dayuan-a", ("$share/g/dayuan/v1/#",), by="dayuan-b")
    assert Presence.decode(presence.encode()) == presence
    for bad in (b"", b"{", b"[]", b'{"state": "gone"}', b'{"state": "asleep", "gateway": "a", '):
        with pytest.raises(ValueError, match="not a gateway presence document"):
            Presence.decode(bad)


def _make_takeover(options: MqttOptions) -> Takeover:
    return Takeover(
        options=options,
        sink=FakeSink(),
        batching=Batching(),
        receiver=Receiver(Intake(devices=lambda _: None, limits=Limits()), clock=FixedClock()),
        metrics=GatewayMetrics(),
    )


def test_only_departed_peers_are_taken_over() -> None:
    takeover = _make_takeover(
        MqttOptions(client_id="dayuan-me", share_group="g", takeover_delay_s=1)
    )

    def say(gateway: str, state: State | None) -> None:
        doc = Presence(state, gateway, ()).encode() if state else b""
        takeover.observe(presence_topic("g", gateway), doc)

    say("dayuan-b", State.ONLINE)
    say("dayuan-c", State.GONE)
    say("dayuan-me", State.GONE)  # our own will, read back after a restart
    assert takeover.departed() == ["dayuan-c"]
    say("dayuan-c", State.DRAINING)
    say("dayuan-b", State.GONE)
    assert takeover.departed() == ["dayuan-b"]
    say("dayuan-b", None)  # drained and cleared
    takeover.observe(presence_topic("g", "dayuan-d"), b"not json")  # logged, ignored
    assert takeover.departed() == []
    assert takeover.filters() == ("$share/g/dayuan/v1/#", "dayuan/backend/g/gateways/+")


def test_a_takeover_needs_a_share_group_and_mqtt_5() -> None:
    for options in (
        MqttOptions(share_group=None),
        MqttOptions(endpoint=MqttEndpoint("127.0.0.1", 1883, protocol=4)),
    ):
        with pytest.raises(ValueError, match="needs MQTT 5"):
            _make_takeover(options)
