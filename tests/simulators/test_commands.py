"""Simulated devices answer commands: what a command does to a device, what it answers,
how the run loop times it, and the same over a real broker in both transport modes.

Hours are local (Hangzhou) on 6 May 2024: the lights are dark from sunrise (~05:11) to
sunset (~18:41), lit at 100 % in the evening and dimmed to 50 % after midnight.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest

import domain
from broker import MqttEndpoint
from domain import Channel, Kind
from simulators import (
    FleetTransport,
    Item,
    MqttTarget,
    Publish,
    RealisticTransport,
    Simulation,
    SimulationReport,
    parse_scenario,
    read_manifest,
    run_simulation,
)
from tests.factories import COMPOUND, LIGHT, TEST_REGISTRY
from tests.fix_mqtt import (
    API_ACCOUNT,
    BACKEND,
    DEVICE_SECRET,
    FLEET,
    Broker,
    Publisher,
    own_broker,
)
from tests.simulators.conftest import MIDNIGHT
from tests.simulators.fakes import FakeClock, FakeTransport

LAMP = "C001-L-002"


def local(hour: int, minute: int = 0, second: int = 0, *, day: int = 0) -> datetime:
    return MIDNIGHT + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def cmd(correlation: str = "cid-1", **body: Any) -> bytes:
    return orjson.dumps({"ts": "2024-05-06T12:00:00+08:00", "correlation_id": correlation, **body})


def said(items: list[Item] | None, device: str, channel: Channel) -> list[Any]:
    """What `device` published on `channel`, validated by the contract."""
    assert items is not None
    bodies = []
    for item in items:
        if isinstance(item, Publish) and item.device == device and item.channel is channel:
            for body in domain.decode(domain.Topic.parse(item.topic), item.payload):
                assert not isinstance(body, domain.InvalidPayload), item.payload
                bodies.append(body)
    return bodies


class Played:
    """The small compound from local midnight, with nothing spontaneous: only the calendar,
    the commute and what the test commands."""

    def __init__(self, compound: domain.CompoundFile, scenario: str | None = None) -> None:
        self.simulation = Simulation(
            compound,
            start=MIDNIGHT,
            seed=3,
            spontaneous=False,
            scenario=parse_scenario(scenario) if scenario else None,
        )

    def until(self, at: datetime) -> list[Item]:
        return list(self.simulation.run(at))

    def command(self, kind: Kind, device: str, payload: bytes, at: datetime) -> list[Item]:
        items = self.simulation.command(domain.cmd_topic("C001", kind, device), payload, at)
        assert items is not None
        return items


@pytest.fixture
def played(small: domain.CompoundFile) -> Played:
    return Played(small)


def test_every_model_carries_out_every_action_its_kind_takes(played: Played) -> None:
    runtimes = played.simulation.runtimes
    assert {r.kind for r in runtimes} == set(Kind)
    for runtime in runtimes:
        taken = runtime.behaviour.COMMANDS
        assert taken == domain.ACTIONS[runtime.kind], runtime.device.model


def test_a_dim_command_is_acked_and_the_next_telemetry_reports_its_level(played: Played) -> None:
    (before,) = said(played.until(local(20, 30)), LAMP, Channel.TELEMETRY)[-1:]
    answer = played.command(Kind.LIGHT, LAMP, cmd(action="dim", level=40), local(20, 30))
    (dim,) = said(answer, LAMP, Channel.EVENT)
    (ack,) = said(answer, LAMP, Channel.ACK)
    (after, *_) = said(played.until(local(21)), LAMP, Channel.TELEMETRY)

    assert (before.values.on, before.values.dim_level) == (True, 100.0)
    assert (dim.type, dim.level) == ("dim", 40.0)
    assert (ack.correlation_id, ack.result, ack.detail) == ("cid-1", "ok", None)
    assert ack.ts == local(20, 30)  # the simulation's clock, not the command's ts
    assert before.seq is not None
    assert [dim.seq, ack.seq, after.seq] == [before.seq + 1, before.seq + 2, before.seq + 3]
    assert (after.values.on, after.values.dim_level) == (True, 40.0)
    assert after.values.power_w == pytest.approx(0.8 + 60 * 0.4, rel=0.05)


def test_switching_holds_until_the_calendar_switches_again(played: Played) -> None:
    played.until(local(20, 30))
    off = played.command(Kind.LIGHT, LAMP, cmd(action="off"), local(20, 30))
    night = played.until(local(12, day=1))
    daylight = played.command(Kind.LIGHT, LAMP, cmd(action="dim", level=30), local(12, day=1))
    dark = played.command(Kind.LIGHT, LAMP, cmd(action="dim", level=0), local(13, day=1))
    evening = played.until(local(20, day=1))

    assert [(e.type, e.state) for e in said(off, LAMP, Channel.EVENT)] == [("switch", "off")]
    assert said(night, LAMP, Channel.EVENT) == []  # the midnight dim finds it dark
    assert {t.values.on for t in said(night, LAMP, Channel.TELEMETRY)} == {False}
    # A level lights a dark lamp at that level, as DALI does; level 0 puts it out.
    assert [
        e.model_dump(include={"type", "state", "level"})
        for e in said(daylight, LAMP, Channel.EVENT)
    ] == [
        {"type": "switch", "state": "on"},
        {"type": "dim", "level": 30.0},
    ]
    assert [(e.type, e.state) for e in said(dark, LAMP, Channel.EVENT)] == [("switch", "off")]
    (dusk,) = said(evening, LAMP, Channel.EVENT)  # the calendar is back in charge
    assert (dusk.type, dusk.state) == ("switch", "on")
    assert local(18, 30, day=1) < dusk.ts < local(19, day=1)


def test_a_schedule_replaces_the_astronomical_calendar(played: Played) -> None:
    played.until(local(10))
    payload = cmd(action="schedule", on_at="13:00", off_at="14:30", level=60)
    answer = played.command(Kind.LIGHT, LAMP, payload, local(10))
    two_days = played.until(local(15, day=1))

    assert said(answer, LAMP, Channel.EVENT) == []  # not lit at 10:00 by the timetable either
    assert [a.result for a in said(answer, LAMP, Channel.ACK)] == ["ok"]
    switches = [(e.ts, e.state) for e in said(two_days, LAMP, Channel.EVENT)]
    assert switches == [  # no sunset, no midnight dimming, no sunrise
        (local(13), "on"),
        (local(14, 30), "off"),
        (local(13, day=1), "on"),
        (local(14, 30, day=1), "off"),
    ]
    lit = [t.values for t in said(two_days, LAMP, Channel.TELEMETRY) if t.values.on]
    assert lit
    assert {v.dim_level for v in lit} == {60.0}


def test_a_schedule_through_midnight_takes_over_a_lit_lamp(played: Played) -> None:
    played.until(local(20))
    payload = cmd(action="schedule", on_at="18:00", off_at="23:00", level=30)
    answer = played.command(Kind.LIGHT, LAMP, payload, local(20))
    night = played.until(local(6, day=1))
    assert [(e.type, e.level) for e in said(answer, LAMP, Channel.EVENT)] == [("dim", 30.0)]
    assert [(e.ts, e.type, e.state) for e in said(night, LAMP, Channel.EVENT)] == [
        (local(23), "switch", "off")
    ]


def test_a_schedule_that_cannot_be_kept_is_an_error(played: Played) -> None:
    played.until(local(10))
    payload = cmd(action="schedule", on_at="13:00", off_at="13:00")
    (ack,) = said(played.command(Kind.LIGHT, LAMP, payload, local(10)), LAMP, Channel.ACK)
    assert ack.result == "error"
    assert "same time" in ack.detail


def test_a_barrier_held_open_by_command_cycles_no_more_until_closed(played: Played) -> None:
    barrier = "C001-B-1"
    played.until(local(7, 30))
    opened = played.command(Kind.BARRIER, barrier, cmd(action="open", lane="1"), local(7, 30))
    rush = played.until(local(8, 30))
    closed = played.command(Kind.BARRIER, barrier, cmd("cid-2", action="close"), local(8, 30))
    later = played.until(local(9, 30))

    assert [(e.state, e.detail) for e in said(opened, barrier, Channel.EVENT)] == [
        ("open", "held open by command")
    ]
    assert [a.result for a in said(opened + closed, barrier, Channel.ACK)] == ["ok", "ok"]
    rush_events = said(rush, barrier, Channel.EVENT)
    assert [e for e in rush_events if e.type == "plate"], "cars come and go in the rush"
    assert [e for e in rush_events if e.type == "barrier"] == []
    assert [(e.state, e.detail) for e in said(closed, barrier, Channel.EVENT)] == [
        ("closed", "closed by command")
    ]
    assert {e.state for e in said(later, barrier, Channel.EVENT) if e.type == "barrier"} == {
        "open",
        "closed",
    }


def test_a_stuck_barrier_answers_with_an_error(small: domain.CompoundFile) -> None:
    played = Played(
        small, "schedule:\n  - {at: '09:00', type: barrier_stuck, device: B-1, duration: 40m}"
    )
    played.until(local(9, 10))
    answer = played.command(Kind.BARRIER, "C001-B-1", cmd(action="close"), local(9, 10))
    (ack,) = said(answer, "C001-B-1", Channel.ACK)
    assert (ack.result, ack.detail) == ("error", "the arm is out of order (stuck)")
    assert said(answer, "C001-B-1", Channel.EVENT) == []


def test_a_gate_unlocked_by_command_opens_its_door_and_closes_it(played: Played) -> None:
    gate = "C001-G-E1"
    played.until(local(3))
    answer = played.command(Kind.GATE, gate, cmd(action="unlock", door="north"), local(3))
    door = said(played.until(local(3, 0, 30)), gate, Channel.EVENT)
    (grant,) = said(answer, gate, Channel.EVENT)
    assert grant.model_dump(include={"type", "result", "method", "door"}) == {
        "type": "access",
        "result": "granted",
        "method": "remote",
        "door": "north",
    }
    assert [a.result for a in said(answer, gate, Channel.ACK)] == ["ok"]
    assert [(e.ts, e.type, e.state) for e in door] == [
        (local(3, 0, 1), "door", "open"),
        (local(3, 0, 8), "door", "closed"),
    ]


@pytest.mark.parametrize(
    ("kind", "device", "payload", "complaint"),
    [
        (Kind.LIGHT, LAMP, cmd(action="unlock"), "light devices accept dim, off, on, schedule"),
        (Kind.LIGHT, LAMP, cmd(action="dim", level=140), "level: Input should be less than"),
        (Kind.LIGHT, LAMP, cmd(action="dim", level=40, colour="red"), "colour: Extra inputs"),
        (Kind.BARRIER, "C001-B-1", cmd(action="explode"), "action: unknown 'explode'"),
        (Kind.ELDER, "C001-E-3-2-301-sos", cmd(action="on"), "elder devices accept no commands"),
    ],
    ids=["wrong-kind", "out-of-range", "unknown-field", "unknown-action", "elder"],
)
def test_a_bad_or_wrong_kind_command_is_rejected_and_changes_nothing(
    played: Played, kind: Kind, device: str, payload: bytes, complaint: str
) -> None:
    played.until(local(20, 30))
    answer = played.command(kind, device, payload, local(20, 30))
    (ack,) = said(answer, device, Channel.ACK)
    assert (ack.correlation_id, ack.result) == ("cid-1", "rejected")
    assert complaint in ack.detail
    assert said(answer, device, Channel.EVENT) == []


def test_a_long_rejection_is_cut_to_what_an_ack_may_carry(played: Played) -> None:
    played.until(local(20, 30))
    payload = cmd(action="on", **{f"{c}" * 300: 1 for c in "xyz"})
    (ack,) = said(played.command(Kind.LIGHT, LAMP, payload, local(20, 30)), LAMP, Channel.ACK)
    assert ack.result == "rejected"
    assert len(ack.detail) == 500  # and `said` found it valid by the contract


@pytest.mark.parametrize(
    "payload",
    [b"dim 40", b"\xff", b"[]", orjson.dumps({"ts": 1, "action": "on"})],
    ids=["not-json", "not-utf8", "not-an-object", "no-correlation-id"],
)
def test_a_command_that_names_no_one_to_answer_goes_unanswered(
    played: Played, payload: bytes
) -> None:
    played.until(local(20, 30))
    assert played.command(Kind.LIGHT, LAMP, payload, local(20, 30)) == []
    answer = played.command(Kind.LIGHT, LAMP, cmd(action="off"), local(20, 30))
    assert [a.result for a in said(answer, LAMP, Channel.ACK)] == ["ok"]  # and it goes on


def test_a_device_offline_or_silent_hears_nothing(small: domain.CompoundFile) -> None:
    played = Played(
        small,
        "schedule:\n"
        "  - {at: '20:00', type: outage, device: L-002, duration: 1h}\n"
        "  - {at: '20:00', type: silent, device: L-003, duration: 1h}\n",
    )
    played.until(local(20, 30))
    for lamp in (LAMP, "C001-L-003"):
        assert played.command(Kind.LIGHT, lamp, cmd(action="off"), local(20, 30)) == []
    back = played.until(local(21, 30))
    assert said(back, LAMP, Channel.EVENT) == []  # the off never happened
    assert {t.values.on for t in said(back, LAMP, Channel.TELEMETRY)} == {True}


def test_commands_for_devices_the_run_does_not_play_are_not_its_business(played: Played) -> None:
    played.until(local(1))
    simulation = played.simulation
    for topic in (
        domain.cmd_topic("C001", Kind.LIGHT, "C001-L-999"),  # no such device
        domain.cmd_topic("C002", Kind.LIGHT, LAMP),  # another compound's
        domain.cmd_topic("C001", Kind.GATE, LAMP),  # not a gate
        str(domain.Topic("C001", Kind.LIGHT, LAMP, Channel.ACK)),  # not a cmd topic
    ):
        assert simulation.command(topic, cmd(action="off"), local(1)) is None


def test_time_never_runs_back_for_a_command(played: Played) -> None:
    played.until(local(1))
    now, next_at = played.simulation.now, played.simulation.next_at()
    early = played.command(Kind.LIGHT, LAMP, cmd("early", action="off"), now - timedelta(hours=1))
    late = played.command(Kind.LIGHT, LAMP, cmd("late", action="on"), next_at + timedelta(hours=1))
    assert [a.ts for a in said(early, LAMP, Channel.ACK)] == [_ms(now)]
    assert [a.ts for a in said(late, LAMP, Channel.ACK)] == [_ms(next_at)]


def _ms(at: datetime) -> datetime:
    """As a light stamps it: epoch milliseconds."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


# --- the run loop ------------------------------------------------------------------------


def test_the_run_loop_answers_at_the_paced_simulated_time_and_accounts_for_it(
    small: domain.CompoundFile,
    fake_clock: FakeClock,
    fake_transport: FakeTransport,
    tmp_path: Path,
) -> None:
    """At 60x, a command arriving 30 wall seconds in is answered at about 00:30 simulated."""
    lamp_cmd = domain.cmd_topic("C001", Kind.LIGHT, LAMP)
    fake_transport.deliver(fake_clock.now + 30, lamp_cmd, cmd(action="dim", level=25))
    fake_transport.deliver(fake_clock.now + 40, lamp_cmd.replace("L-002", "L-999"), cmd())
    manifest = tmp_path / "manifest.jsonl"
    report = run_simulation(
        small,
        target=MqttTarget(MqttEndpoint("127.0.0.1", 1)),
        start=MIDNIGHT,
        speed=60.0,
        duration=timedelta(hours=1),
        spontaneous=False,
        transport=fake_transport,
        monotonic=fake_clock,
        manifest=manifest,
    )
    (ack,) = said(fake_transport.sent, LAMP, Channel.ACK)
    (dim,) = said(fake_transport.sent, LAMP, Channel.EVENT)
    telemetry = said(fake_transport.sent, LAMP, Channel.TELEMETRY)

    assert report.commands == 1  # L-999 is not played: ignored
    assert ack.result == "ok"
    assert local(0, 30) <= ack.ts <= local(0, 30, 12)  # within one idle slice (0.2 s = 12 s)
    assert dim.level == 25.0
    assert {t.values.dim_level for t in telemetry if t.ts > ack.ts} == {25.0}
    record = read_manifest(manifest).devices[LAMP]
    assert record.channels["ack"] == 1
    assert ack.seq in record.seq_set()
    assert ack.seq in read_manifest(manifest).expected_data(LAMP)  # it must land
    assert len(record.seqs) == 1  # still one unbroken range


# --- over a real broker ------------------------------------------------------------------

EVENING = datetime(2024, 5, 6, 20, tzinfo=UTC) - timedelta(hours=8)  # 20:00 in Hangzhou


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A Mosquitto of the project's config (its accounts and ACL) for this module alone:
    the test registry's simulated devices leave retained statuses, which the session's
    broker must not keep for the tests that follow."""
    with own_broker(tmp_path_factory.mktemp("mosquitto")) as started:
        yield started


class _Watcher:
    """The backend's view of one device: every message it publishes, in order."""

    def __init__(self, broker: Broker, device_topic: str) -> None:
        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        subscribed = threading.Event()
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"watch-{uuid.uuid4().hex[:6]}",
            protocol=paho.MQTTv5,
        )
        self.client.username_pw_set(BACKEND.username, BACKEND.password)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(
            [(f"{device_topic}/{channel}", 1) for channel in ("ack", "telemetry")]
        )
        self.client.on_subscribe = lambda c, u, m, r, p: subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.put(
            (m.topic.rsplit("/", 1)[1], orjson.loads(m.payload))
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.wait(5)

    def next(self, channel: str, where: Callable[[dict[str, Any]], bool] = bool) -> dict[str, Any]:
        """The next message on `channel` that satisfies `where`."""
        while True:
            got, body = self.messages.get(timeout=15)
            if got == channel and where(body):
                return body

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class _Live:
    """The test registry played at 600x from 20:00 onto the project's broker (its ACL)."""

    def __init__(self, broker: Broker, mode: str) -> None:
        if mode == "realistic":
            target = MqttTarget(MqttEndpoint(broker.host, broker.port), device_secret=DEVICE_SECRET)
            self.transport: RealisticTransport | FleetTransport = RealisticTransport(target)
        else:
            target = MqttTarget(
                MqttEndpoint(broker.host, broker.port, FLEET.username, FLEET.password)
            )
            self.transport = FleetTransport(target, connections=2)
        self.stop = threading.Event()
        self.reports: list[SimulationReport] = []
        options: dict[str, Any] = {"start": EVENING, "speed": 600.0, "spontaneous": False}
        self.thread = threading.Thread(
            target=lambda: self.reports.append(
                run_simulation(
                    TEST_REGISTRY,
                    target=target,
                    transport=self.transport,
                    stop=self.stop,
                    **options,
                )
            )
        )
        self.thread.start()

    def wait_listening(self) -> None:
        pause = threading.Event()
        for _ in range(200):
            if self.transport.listening() or not self.thread.is_alive():
                break
            pause.wait(0.05)
        assert self.transport.listening(), "the simulator did not subscribe to its commands"

    def finish(self) -> SimulationReport:
        self.stop.set()
        self.thread.join(30)
        (report,) = self.reports
        return report


@pytest.mark.parametrize("mode", ["realistic", "fleet"])
def test_a_simulated_light_answers_commands_over_the_broker(broker: Broker, mode: str) -> None:
    base = f"dayuan/v1/{COMPOUND}/light/{LIGHT}"
    watcher = _Watcher(broker, base)
    backend = Publisher(
        broker, API_ACCOUNT.username, API_ACCOUNT.password, f"b-{uuid.uuid4().hex[:6]}"
    )
    live = _Live(broker, mode)
    try:
        live.wait_listening()
        backend.publish(f"{base}/cmd", cmd("dim-1", action="dim", level=40))
        ack = watcher.next("ack", lambda b: b["correlation_id"] == "dim-1")
        telemetry = watcher.next("telemetry", lambda b: b["seq"] > ack["seq"])
        backend.publish(f"{base}/cmd", cmd("wrong-kind", action="unlock"))
        wrong = watcher.next("ack", lambda b: b["correlation_id"] == "wrong-kind")
        backend.publish(f"{base}/cmd", b"{not json")
        backend.publish(f"{base}/cmd", cmd("too-bright", action="dim", level=140))
        bad = watcher.next("ack", lambda b: b["correlation_id"] == "too-bright")
        backend.publish(f"dayuan/v1/{COMPOUND}/light/not-played/cmd", cmd("ghost", action="on"))
        backend.publish(f"{base}/cmd", cmd("on-1", action="on"))
        watcher.next("ack", lambda b: b["correlation_id"] == "on-1")
    finally:
        report = live.finish()
        backend.close()
        watcher.close()

    assert ack["result"] == "ok"
    assert (telemetry["values"]["on"], telemetry["values"]["dim_level"]) == (True, 40.0)
    assert (wrong["result"], wrong["detail"]) == (
        "rejected",
        "light devices accept dim, off, on, schedule; not 'unlock'",
    )
    assert bad["result"] == "rejected"
    assert "level: Input should be less than or equal to 100" in bad["detail"]
    assert report.commands == 5  # the ghost's is not this run's; the garbage went unanswered
    assert report.errors == 0, report.error_samples
    assert report.per_channel["ack"] == 4
