"""Fakes at the simulator's seams: a wall clock that moves only when told, a transport that
records what it is given, lets time pass instead of waiting for sockets, and hands over
the commands a test scheduled once the wall clock reaches them."""

from __future__ import annotations

from simulators import Item, Publish, Received, Transport, TransportStats


class FakeClock:
    """A monotonic wall clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTransport(Transport):
    """Records what it is given; waiting advances the fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[Item] = []
        self.waits: list[float] = []
        self.stats = TransportStats()
        self.closed = False
        self.pending: list[tuple[float, Received]] = []

    def deliver(self, wall: float, topic: str, payload: bytes) -> None:
        """Have `payload` arrive on `topic` once the fake wall clock reads `wall`."""
        self.pending.append((wall, Received(topic, payload)))

    def start(self, items: list[Item]) -> None:
        for item in items:
            self.send(item)

    def send(self, item: Item) -> None:
        self.sent.append(item)
        if isinstance(item, Publish):
            self.stats.published += 1
            self.stats.acknowledged += 1

    def service(self, timeout: float) -> None:
        self.waits.append(timeout)
        self.clock.now += timeout

    def outstanding(self) -> int:
        return 0

    def drain(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    def received(self) -> list[Received]:
        due = [r for at, r in self.pending if at <= self.clock.now]
        self.pending = [(at, r) for at, r in self.pending if at > self.clock.now]
        return due
