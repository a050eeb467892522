"""`dayuan bench rules`: the engine's throughput and an SOS's latency under load.

In-process, no broker: a synthetic compound (lights, gates, barriers, elderly-care
devices in tagged flats) and synthetic messages built from the domain's payload
models. Printed as JSON beside a same-run baseline: what the gateway already pays per
message (decode + validate) and what `submit` alone costs, so the engine's cost can
be read against them. Alarms go to memory: this measures the rules, not PostgreSQL.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson

from dayuan.settings import Settings
from domain import (
    Channel,
    Compound,
    Device,
    ElderMotion,
    ElderSos,
    ElderTelemetry,
    ElderValues,
    GateAccess,
    GatePassage,
    Household,
    HouseholdTag,
    InvalidPayload,
    Kind,
    LightTelemetry,
    LightValues,
    Message,
    Payload,
    SystemClock,
    Topic,
    decode,
)
from rules import (
    AlarmBook,
    AlarmChange,
    Engine,
    Evaluator,
    MemoryAlarmStore,
    RuleSet,
    World,
    load_rules,
)

COMPOUND = "bench"
LIGHTS, GATES, FLATS = 400, 20, 200  # one compound of the case studies' size
# Background traffic is fed in chunks of this many messages (one MQTT batch's worth).
FEED_CHUNK = 50
# Time between timed SOS presses: far apart enough to be independent samples.
SOS_INTERVAL_S = 0.01
# An SOS whose alarm has not been emitted after this is counted as lost.
SOS_TIMEOUT_S = 5.0


def _registry() -> World:
    devices = [Device(id=f"l{i}", kind=Kind.LIGHT, model="led") for i in range(LIGHTS)]
    devices += [Device(id=f"g{i}", kind=Kind.GATE, model="face_gate") for i in range(GATES)]
    households = []
    for i in range(FLATS):
        flat = f"{i // 20 + 1}-1-{i % 20 + 101}"
        tags = [HouseholdTag.EMPTY_NEST] if i % 3 == 0 else []
        households.append(Household(flat=flat, tags=tags))
        devices.append(Device(id=f"e{i}", kind=Kind.ELDER, model="wearable", address=flat))
    compound = Compound(
        id=COMPOUND, name="bench", lat=30.27, lon=120.16, households=households, devices=devices
    )
    return World.from_compounds([compound])


def _payload(rng: random.Random, ts: datetime, seq: int) -> tuple[Kind, str, Channel, Payload]:
    pick = rng.random()
    if pick < 0.6:
        values = LightValues(power_w=rng.gauss(40, 3), dim_level=50.0, on=True)
        device = f"l{rng.randrange(LIGHTS)}"
        return Kind.LIGHT, device, Channel.TELEMETRY, LightTelemetry(ts=ts, seq=seq, values=values)
    if pick < 0.8:
        vitals = ElderValues(heart_rate=rng.gauss(75, 8), spo2=97.0, battery=80.0)
        device = f"e{rng.randrange(FLATS)}"
        return Kind.ELDER, device, Channel.TELEMETRY, ElderTelemetry(ts=ts, seq=seq, values=vitals)
    if pick < 0.9:
        device = f"e{rng.randrange(FLATS)}"
        return Kind.ELDER, device, Channel.EVENT, ElderMotion(type="motion", ts=ts, seq=seq)
    device = f"g{rng.randrange(GATES)}"
    if pick < 0.95:
        body: Payload = GateAccess(type="access", result="granted", method="face", ts=ts, seq=seq)
    else:
        body = GatePassage(type="passage", ts=ts, seq=seq)
    return Kind.GATE, device, Channel.EVENT, body


def _traffic(count: int, start: datetime, seed: int = 7) -> list[Message]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        ts = start + timedelta(milliseconds=i)
        kind, device, channel, body = _payload(rng, ts, i)
        out.append(Message(Topic(COMPOUND, kind, device, channel), body, ts))
    return out


def _all_enabled() -> RuleSet:
    rs = load_rules()
    rules = tuple(r.model_copy(update={"enabled": True}) for r in rs.rules)
    return RuleSet(version=rs.version, rules=rules)


def _engine(sink: Callable[[AlarmChange], None]) -> Engine:
    class _Sink:
        def emit(self, change: AlarmChange) -> None:
            sink(change)

    book = AlarmBook(MemoryAlarmStore(), _Sink(), {})
    evaluator = Evaluator(_all_enabled(), _registry(), book)
    return Engine(evaluator, clock=SystemClock())


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def _wire(body: Payload) -> dict[str, Any]:
    """A payload as a device sends it (epoch-ms ts, no nulls)."""
    wire: dict[str, Any] = {k: v for k, v in body.__dict__.items() if v is not None}
    wire["ts"] = int(body.ts.timestamp() * 1000)
    values = wire.get("values")
    if values is not None:
        wire["values"] = {k: v for k, v in values.__dict__.items() if v is not None}
    return wire


def _baseline(messages: list[Message]) -> dict[str, float]:
    raw = [(m.topic, orjson.dumps(_wire(m.body))) for m in messages]
    t0 = time.perf_counter()
    decoded = [decode(topic, payload) for topic, payload in raw]
    decode_s = time.perf_counter() - t0
    if any(isinstance(d, InvalidPayload) for batch in decoded for d in batch):
        raise RuntimeError("the baseline's synthetic payloads do not validate")
    engine = _engine(lambda change: None)
    t0 = time.perf_counter()
    for i in range(0, len(messages), FEED_CHUNK):
        engine.submit(messages[i : i + FEED_CHUNK])
    submit_s = time.perf_counter() - t0
    return {"decode_per_s": _rate(len(raw), decode_s), "submit_per_s": _rate(len(raw), submit_s)}


def _throughput(messages: list[Message]) -> float:
    engine = _engine(lambda change: None)
    for i in range(0, len(messages), FEED_CHUNK):
        engine.submit(messages[i : i + FEED_CHUNK])
    t0 = time.perf_counter()
    done = engine.drain()
    engine.tick()
    return _rate(done, time.perf_counter() - t0)


def _latency(rate: float, presses: int) -> dict[str, Any]:
    clock = SystemClock()
    emitted: dict[str, float] = {}
    lock = threading.Lock()

    def on_change(change: AlarmChange) -> None:
        if change.rule_id == "sos" and change.received_at is not None:
            with lock:
                emitted[str(change.values.get("seq"))] = (
                    clock.now() - change.received_at
                ).total_seconds()

    engine = _engine(on_change)
    engine.start()
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(engine, rate, stop), daemon=True)
    feeder.start()
    try:
        _press(engine, clock, presses)
        deadline = time.monotonic() + SOS_TIMEOUT_S
        while len(emitted) < presses and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        feeder.join()
        engine.close()
    ms = np.asarray([emitted[k] for k in sorted(emitted)]) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 2) if len(ms) else None,
        "p99": round(float(np.percentile(ms, 99)), 2) if len(ms) else None,
        "max": round(float(ms.max()), 2) if len(ms) else None,
        "samples": len(ms),
        "lost": presses - len(ms),
        "background_msgs_per_s": round(rate, 1),
        "evaluated": engine.metrics.evaluated,
        "dropped": engine.metrics.dropped,
    }


def _press(engine: Engine, clock: SystemClock, presses: int) -> None:
    for i in range(presses):
        now = clock.now()
        device = f"e{i % FLATS}"
        body = ElderSos(type="sos", ts=now, seq=1_000_000 + i)
        engine.submit([Message(Topic(COMPOUND, Kind.ELDER, device, Channel.EVENT), body, now)])
        time.sleep(SOS_INTERVAL_S)


def _feed(engine: Engine, rate: float, stop: threading.Event) -> None:
    clock = SystemClock()
    sent, start = 0, time.perf_counter()
    while not stop.is_set():
        chunk = _traffic(FEED_CHUNK, clock.now(), seed=sent)
        engine.submit(chunk)
        sent += FEED_CHUNK
        ahead = sent / rate - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)


def bench_rules(args: argparse.Namespace, settings: Settings) -> int:
    start = SystemClock().now() - timedelta(minutes=5)
    messages = _traffic(args.messages, start)
    baseline = _baseline(messages)
    events_per_s = _throughput(messages)
    del messages
    # A long-running gateway has its start-up objects in the oldest generation; do the
    # same here so that a full collection of the set-up does not land on one SOS.
    gc.collect()
    gc.freeze()
    latency = _latency(min(args.rate, events_per_s * 0.8), args.sos)
    result = {
        "events_per_s": events_per_s,
        "rules": len(_all_enabled().rules),
        "devices": LIGHTS + GATES + FLATS,
        "baseline": baseline,
        "sos_to_alarm_ms": latency,
        "store": "memory",
        "measured_at": SystemClock().now().isoformat(),
    }
    print(json.dumps(result, indent=2))
    return 0 if latency["lost"] == 0 else 1
