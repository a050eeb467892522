"""Batching, commit, then acknowledge: the gateway's guarantee lives here.

Deliveries (one MQTT message each, with its packet id) are appended by the MQTT
thread; the flush thread takes a batch when it is full or old enough, hands it to the
sink, and only when the sink returns - the batch committed - acknowledges every
packet of it, in arrival order. A crash before that leaves the packets unacknowledged
in the broker's session, which redelivers them; storage de-duplicates.

Backpressure: the broker sends at most `receive_maximum` unacknowledged packets, so
while storage is slow or down the pending set stops growing and the broker holds the
rest. `submit` also blocks past `max_pending` (for brokers that ignore Receive
Maximum), which stops the MQTT thread reading its socket.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from domain import DeadLetter, Message, Reason, Sink, SinkRejected, SinkUnavailable
from gateway._metrics import GatewayMetrics

log = logging.getLogger(__name__)

# Retry a failing database after 0.1 s, doubling to at most 5 s: fast recovery from a
# blip, and no hammering of a database that is restarting.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class Batching:
    # 5000 deliveries: large enough that COPY, not per-statement overhead, dominates.
    max_messages: int = 5000
    # 0.2 s: an SOS waits at most this long for its batch (the alarm budget is 100 ms
    # for evaluation; storage may take a little longer than that, rules do not wait).
    max_delay_s: float = 0.2
    # The hard cap on deliveries held in memory; above the broker's Receive Maximum.
    max_pending: int = 40_000
    max_pending_bytes: int = 64 * 1024 * 1024


@dataclass(slots=True)
class Delivery:
    mid: int
    qos: int
    topic: str
    payload: bytes
    messages: list[Message]
    dead_letters: list[DeadLetter]
    suppressed: int = 0  # dead letters over their device's budget: counted, not kept
    # Which connection of the client it arrived on (see gateway._mqtt.SessionAcks).
    connection: int = 0


@dataclass(slots=True)
class _Pending:
    deliveries: list[Delivery] = field(default_factory=list)
    bytes: int = 0
    first_at: float = 0.0


class Pipeline:
    def __init__(
        self,
        sink: Sink,
        *,
        ack: Callable[[Delivery], object],
        batching: Batching,
        metrics: GatewayMetrics,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._ack = ack
        self._batching = batching
        self._metrics = metrics
        self._monotonic = monotonic
        self._pending = _Pending()
        self._in_flight = 0  # deliveries taken for writing, not yet acknowledged
        self._cond = threading.Condition()
        self._closing = False
        # Since when storage has refused every write (None: it is taking them).
        self.unavailable_since: float | None = None

    # --- MQTT thread --------------------------------------------------------------------

    def submit(self, delivery: Delivery) -> None:
        with self._cond:
            while self._full() and not self._closing:
                self._metrics.backpressure_waits += 1
                self._cond.wait(0.5)
            pending = self._pending
            if not pending.deliveries:
                pending.first_at = self._monotonic()
            pending.deliveries.append(delivery)
            pending.bytes += len(delivery.payload)
            if len(pending.deliveries) >= self._batching.max_messages:
                self._cond.notify_all()

    def _full(self) -> bool:
        b = self._batching
        count = len(self._pending.deliveries) + self._in_flight
        return count >= b.max_pending or self._pending.bytes >= b.max_pending_bytes

    # --- flush thread -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Flush until `stop` is set and everything pending is committed and acknowledged."""
        while True:
            batch = self._take(stop)
            if batch is None:
                return
            self._commit(batch, stop)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._pending.deliveries) + self._in_flight

    def _take(self, stop: threading.Event) -> list[Delivery] | None:
        b = self._batching
        with self._cond:
            while True:
                pending = self._pending
                if pending.deliveries:
                    age = self._monotonic() - pending.first_at
                    if (
                        len(pending.deliveries) >= b.max_messages
                        or age >= b.max_delay_s
                        or (stop.is_set())
                    ):
                        break
                    self._cond.wait(b.max_delay_s - age)
                elif stop.is_set():
                    return None
                else:
                    self._cond.wait(b.max_delay_s)
            batch = pending.deliveries
            self._pending = _Pending()
            self._in_flight = len(batch)
            return batch

    def _commit(self, batch: list[Delivery], stop: threading.Event) -> None:
        started = self._monotonic()
        if not self._write(batch, stop):
            log.warning(
                "stopping with storage unavailable: %d message(s) left unacknowledged in the "
                "broker session, to be redelivered",
                len(batch),
            )
            return
        self._metrics.observe_commit(self._monotonic() - started, len(batch))
        for delivery in batch:
            if delivery.qos > 0:
                self._ack(delivery)

    def _write(self, batch: Sequence[Delivery], stop: threading.Event) -> bool:
        """Write until stored (True): retry while unavailable, split while rejected.

        Returns False only when stopping while storage is unavailable.
        """
        delay = RETRY_FIRST_S
        while True:
            try:
                self._sink.write(
                    [m for d in batch for m in d.messages],
                    [x for d in batch for x in d.dead_letters],
                )
            except SinkUnavailable as exc:
                if self.unavailable_since is None:
                    self.unavailable_since = self._monotonic()
                self._metrics.retries += 1
                log.warning("storage unavailable, retrying in %.1fs: %s", delay, exc)
                if stop.wait(delay):
                    return False
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            except SinkRejected as exc:
                return self._split(batch, exc, stop)
            self.unavailable_since = None
            self._metrics.count_stored(batch)
            return True

    def _split(self, batch: Sequence[Delivery], exc: SinkRejected, stop: threading.Event) -> bool:
        if len(batch) > 1:
            half = len(batch) // 2
            return self._write(batch[:half], stop) and self._write(batch[half:], stop)
        delivery = batch[0]
        device = delivery.messages[0].device if delivery.messages else None
        log.error(
            "storage rejected the message on %s: %s",
            delivery.topic,
            exc,
            extra={"topic": delivery.topic, "device": device},
        )
        if not delivery.messages:  # its dead letters alone were refused: nothing left to try
            self._metrics.unstorable += 1
            return True
        letter = DeadLetter.of(
            received_at=delivery.messages[0].received_at,
            topic=delivery.topic,
            reason=Reason.STORAGE_REJECTED,
            detail=str(exc),
            payload=delivery.payload,
            device_id=delivery.messages[0].device,
        )
        retry = Delivery(
            delivery.mid,
            delivery.qos,
            delivery.topic,
            delivery.payload,
            [],
            [letter],
            delivery.suppressed,
        )
        return self._write([retry], stop)
