"""Fakes at the simulator's seams: a wall clock that moves only when told, a transport that
records what it is given and lets time pass instead of waiting for sockets."""

from __future__ import annotations

from simulators import Item, Publish, Transport, TransportStats


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
