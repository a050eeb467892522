"""The pipeline's promise, with a fake sink and no broker: acknowledge only what
committed, in order; retry while unavailable; isolate what storage refuses."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from domain import Message, Reason, Topic, decode
from gateway import Batching, Delivery, GatewayMetrics, Pipeline
from tests.gateway.fakes import FakeSink

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def delivery(mid: int, device: str = "l1") -> Delivery:
    topic = Topic.parse(f"dayuan/v1/c1/light/{device}/telemetry")
    payload = b'{"ts": 1795240923000, "values": {"lux": 1}}'
    [body] = decode(topic, payload)
    return Delivery(mid, 1, str(topic), payload, [Message(topic, body, NOW)], [])  # type: ignore[arg-type]


def run(sink: FakeSink, deliveries: list[Delivery], batching: Batching) -> list[int]:
    acked: list[int] = []
    pipeline = Pipeline(
        sink, ack=lambda d: acked.append(d.mid), batching=batching, metrics=GatewayMetrics()
    )
    stop = threading.Event()
    for d in deliveries:
        pipeline.submit(d)
    stop.set()  # drain: run() returns once everything pending is committed and acked
    pipeline.run(stop)
    return acked


def test_acks_follow_commits_in_arrival_order() -> None:
    sink = FakeSink()
    acked = run(sink, [delivery(i) for i in range(1, 8)], Batching(max_messages=3))
    assert acked == list(range(1, 8))
    assert sum(len(m) for m, _ in sink.batches) == 7


def test_unavailable_storage_is_retried_and_nothing_is_acked_before() -> None:
    sink = FakeSink(unavailable=2)
    acked: list[int] = []
    metrics = GatewayMetrics()
    pipeline = Pipeline(
        sink,
        ack=lambda d: acked.append(d.mid),
        batching=Batching(max_messages=10, max_delay_s=0.01),
        metrics=metrics,
    )
    pipeline.submit(delivery(1))
    stop = threading.Event()
    worker = threading.Thread(target=pipeline.run, args=(stop,))
    worker.start()
    for _ in range(500):
        if acked:
            break
        assert metrics.retries == 2 or acked == [], "acknowledged before the commit"
        threading.Event().wait(0.01)
    stop.set()
    worker.join(10)
    assert acked == [1]
    assert metrics.retries == 2


def test_stopping_while_unavailable_leaves_deliveries_unacknowledged() -> None:
    sink = FakeSink(unavailable=10**6)
    assert run(sink, [delivery(1), delivery(2)], Batching()) == []
    assert sink.batches == []


def test_a_refused_message_is_isolated_and_dead_lettered() -> None:
    sink = FakeSink(poison="bad")
    deliveries = [delivery(1), delivery(2), delivery(3, device="bad"), delivery(4)]
    acked = run(sink, deliveries, Batching(max_messages=10))
    assert sorted(acked) == [1, 2, 3, 4]
    stored = [m.device for messages, _ in sink.batches for m in messages]
    letters = [d for _, dls in sink.batches for d in dls]
    assert sorted(stored) == ["l1", "l1", "l1"]
    assert [d.reason for d in letters] == [Reason.STORAGE_REJECTED]
    assert letters[0].device_id == "bad"
    assert "out of range" in letters[0].detail


def test_submit_blocks_past_the_pending_cap() -> None:
    sink = FakeSink()
    pipeline = Pipeline(
        sink,
        ack=lambda d: None,
        batching=Batching(max_messages=100, max_pending=2),
        metrics=GatewayMetrics(),
    )
    pipeline.submit(delivery(1))
    pipeline.submit(delivery(2))
    third = threading.Thread(target=pipeline.submit, args=(delivery(3),))
    third.start()
    third.join(0.3)
    assert third.is_alive(), "the third delivery should wait for room"
    stop = threading.Event()
    stop.set()
    pipeline.run(stop)
    third.join(5)
    assert not third.is_alive()
