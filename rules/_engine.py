"""The engine: the rule evaluation that runs beside the gateway, on its own thread.

`submit` is called on the gateway's MQTT thread before storage commits, so it only
enqueues. Messages that can raise a critical alarm (SOS, fall) go to an urgent queue
that the engine thread drains before every slice of ordinary traffic, which bounds an
SOS's wait to one slice whatever the load. The thread also ticks timers, checkpoints
rule state to the database, and refreshes the registry. Its lifecycle is explicit:
`open`, `start`, `close`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg_pool import ConnectionPool

from domain import Clock, Kind, Message
from rules._alarms import AlarmChange, AlarmSink, AlarmStore
from rules._book import AlarmBook
from rules._definitions import load_rules
from rules._errors import RuleFileError, RulesError
from rules._evaluator import Evaluator
from rules._store import PgAlarmStore, PgStateStore, StateStore
from rules._world import World

log = logging.getLogger(__name__)

# Timers are minutes to hours long; a second of lateness is invisible, a busier tick is not.
TICK_INTERVAL_S = 1.0
# Rule state lost in a crash is at most this old, and the broker redelivers what was not
# stored; also how stale another process's view of a "last heard" can be.
CHECKPOINT_INTERVAL_S = 5.0
# Devices and households added to the registry are watched within this.
WORLD_REFRESH_S = 60.0
# Ordinary messages evaluated between looks at the urgent queue: ~30 us each, so an SOS
# waits at most a couple of milliseconds behind background load.
BULK_SLICE = 64
# Beyond this backlog (minutes of traffic) new ordinary messages are not evaluated, and
# counted: memory stays bounded, urgent messages are never dropped.
MAX_BACKLOG = 200_000
# The stream's lag is the median of this many latest messages: one late batch from one
# device (45 min old readings, then silence) must not hold every timer back 45 min.
STREAM_LAG_WINDOW = 101
# How often `wait_settled` looks again at alarm raises waiting for the store.
SETTLE_POLL_S = 0.05
# How long `close` waits for the engine thread to drain and stop.
CLOSE_TIMEOUT_S = 30.0


@dataclass(slots=True)
class EngineMetrics:
    submitted: int = 0
    evaluated: int = 0
    urgent: int = 0
    dropped: int = 0  # ordinary messages not evaluated because the backlog was full
    ticks: int = 0
    checkpoints: int = 0
    errors: int = 0


class _LogSink:
    def emit(self, change: AlarmChange) -> None:
        log.info("alarm %s %s (%s)", change.change.value, change.fingerprint, change.severity.value)


class StreamTime:
    """The time timers are judged at: the clock, less how far behind it the stream runs.

    A replay of the past (`dayuan up`'s history at 600x, a broker's backlog after an
    outage) carries events hours behind the clock. Judged on the clock, every door
    opened in it is "held open" at the next tick, before its close (the next message) is
    read. Here the stream's lag is that of the middle one of the latest messages (its
    receipt less its event time), and timers are judged at the clock less that lag: in
    live traffic that is the clock; in silence it runs on with the clock, so a missed
    heartbeat is still judged; in a replay it follows the events. The middle message,
    not the newest, so that a device whose clock runs ahead (accepted within the edge's
    skew) cannot pull the time forward for every other device. Only the rules' timers
    take it; the alarm book stamps and clears on the clock. (One engine, one stream: a
    compound replaying beside live ones is judged on theirs.)

        clock    16:00:00.0  16:00:00.1  16:00:01   (a replay at 600x)
        events   10:00:00    10:01:00    10:10:00
        lag      6 h         5 h 59 min  5 h 50 min
        judged   10:00:00    10:01:00    10:10:00
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lags: deque[timedelta] = deque(maxlen=STREAM_LAG_WINDOW)
        self._lag = timedelta(0)

    def observe(self, messages: Sequence[Message]) -> None:
        if messages:
            self._lags.extend(m.received_at - min(m.ts, m.received_at) for m in messages)
            lags = sorted(self._lags)
            self._lag = lags[len(lags) // 2]

    def now(self) -> datetime:
        return self._clock.now() - self._lag


class Engine:
    def __init__(
        self,
        evaluator: Evaluator,
        *,
        clock: Clock,
        rules_file: Path | None = None,
        states: StateStore | None = None,
        world_loader: Callable[[], World] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._evaluator = evaluator
        self._clock = clock
        self._time = StreamTime(clock)
        self._rules_file = rules_file
        self._states = states
        self._world_loader = world_loader
        self._monotonic = monotonic
        self._lock = threading.RLock()  # the evaluator is used by one thread at a time
        self._cond = threading.Condition()
        self._urgent: deque[Message] = deque()
        self._bulk: deque[Message] = deque()
        self._urgent_types = evaluator.urgent_types()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._settled = 0  # messages submitted and since evaluated (or dropped), under _cond
        self.metrics = EngineMetrics()

    @classmethod
    def open(
        cls,
        pool: ConnectionPool[Any],
        *,
        rules_file: Path | None = None,
        clock: Clock,
        sink: AlarmSink | None = None,
        store: AlarmStore | None = None,
    ) -> Engine:
        """Load the rules, the registry, the open alarms and the persisted rule state."""
        ruleset = load_rules(rules_file)

        def world() -> World:
            with pool.connection() as conn:
                return World.from_database(conn)

        states = PgStateStore(pool)
        book = AlarmBook(store or PgAlarmStore(pool), sink or _LogSink(), {})
        evaluator = Evaluator(ruleset, world(), book, states=states)
        restored = evaluator.restore(states.load())
        alarms = book.restore()
        log.info(
            "rules %s: %d enabled, %d states restored, %d open alarms",
            ruleset.version,
            len(evaluator.logics),
            restored,
            alarms,
        )
        return cls(evaluator, clock=clock, rules_file=rules_file, states=states, world_loader=world)

    # --- the gateway's side -------------------------------------------------------------

    def submit(self, messages: Sequence[Message]) -> None:
        """Enqueue validated messages; never blocks on evaluation."""
        urgent = [m for m in messages if self._is_urgent(m)]
        with self._cond:
            self.metrics.submitted += len(messages)
            self._urgent.extend(urgent)
            ordinary = len(messages) - len(urgent)
            if ordinary and len(self._bulk) + ordinary > MAX_BACKLOG:
                self.metrics.dropped += ordinary
                self._settled += ordinary
            elif ordinary:
                self._bulk.extend(m for m in messages if not self._is_urgent(m))
            self._cond.notify()

    def wait_settled(self, timeout_s: float) -> bool:
        """Wait until every message submitted so far has been evaluated, its alarms in
        the store (none waiting in the alarm book for a store that was down): what a
        consumer that only evaluates may then acknowledge. False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            mark = self.metrics.submitted
            if not self._cond.wait_for(lambda: self._settled >= mark, timeout_s):
                return False
        while self._evaluator.book.pending_retries:  # the engine's tick retries them
            if time.monotonic() >= deadline:
                return False
            time.sleep(SETTLE_POLL_S)
        return True

    def _is_urgent(self, message: Message) -> bool:
        kind: Kind = message.topic.kind
        return (kind, getattr(message.body, "type", "")) in self._urgent_types

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RulesError("the engine is already started")
        self._thread = threading.Thread(target=self._run, name="rules-engine", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread, evaluate what is queued, checkpoint state."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(CLOSE_TIMEOUT_S)
            self._thread = None
        self.drain()
        self.checkpoint()

    # --- work ---------------------------------------------------------------------------

    def drain(self) -> int:
        """Evaluate everything queued, on the caller's thread (tests, close)."""
        done = 0
        while batch := self._take(0.0):
            done += self._evaluate(batch)
        return done

    def tick(self) -> None:
        """Fire the timers due at the clock's now; clear what has calmed."""
        with self._lock:
            try:
                self._evaluator.tick(self._clock.now(), judged=self._time.now())
            except Exception:
                self.metrics.errors += 1
                log.exception("rule tick failed")
            self.metrics.ticks += 1

    def checkpoint(self) -> None:
        """Write the rule state changed since the last checkpoint."""
        if self._states is None:
            return
        with self._lock:
            rows = self._evaluator.take_dirty()
        try:
            self._states.save(rows, now=self._clock.now())
        except RulesError as exc:
            log.warning("checkpoint failed (%d states kept for the next): %s", len(rows), exc)
            self._requeue(rows)
            return
        self.metrics.checkpoints += 1

    def _requeue(self, rows: Sequence[Any]) -> None:
        with self._lock:
            for row in rows:
                logic = self._evaluator.logics.get(row.rule_id)
                if logic is not None:
                    logic.dirty.add(row.key)

    def reload(self) -> None:
        """Load the rule file again; an invalid file leaves the running rules in place."""
        try:
            ruleset = load_rules(self._rules_file)
        except RuleFileError as exc:
            log.error("rules not reloaded, the running set stays: %s", exc)
            raise
        with self._lock:
            self._evaluator.set_rules(ruleset)
            self._urgent_types = self._evaluator.urgent_types()
        self.refresh_world()
        log.info("rules reloaded: %s, %d enabled", ruleset.version, len(ruleset.enabled()))

    def refresh_world(self) -> None:
        if self._world_loader is None:
            return
        try:
            world = self._world_loader()
        except RulesError as exc:
            log.warning("registry not refreshed: %s", exc)
            return
        with self._lock:
            self._evaluator.set_world(world)

    def _take(self, timeout: float) -> list[Message]:
        with self._cond:
            if not self._urgent and not self._bulk and timeout > 0 and not self._stop.is_set():
                self._cond.wait(timeout)
            batch = list(self._urgent)
            self._urgent.clear()
            for _ in range(min(BULK_SLICE, len(self._bulk))):
                batch.append(self._bulk.popleft())
        self.metrics.urgent += sum(1 for m in batch if self._is_urgent(m))
        return batch

    def _evaluate(self, batch: list[Message]) -> int:
        try:
            with self._lock:
                try:
                    self._time.observe(batch)
                    done = self._evaluator.process(batch, self._clock.now())
                except Exception:
                    self.metrics.errors += 1
                    log.exception("rule evaluation failed on a batch of %d", len(batch))
                    return 0
            self.metrics.evaluated += done
            return done
        finally:
            with self._cond:
                self._settled += len(batch)
                self._cond.notify_all()

    def _run(self) -> None:
        now = self._monotonic()
        next_tick, next_checkpoint = now, now + CHECKPOINT_INTERVAL_S
        next_world = now + WORLD_REFRESH_S
        while not self._stop.is_set():
            batch = self._take(max(0.0, next_tick - self._monotonic()))
            if batch:
                self._evaluate(batch)
            now = self._monotonic()
            if now >= next_tick:
                self.tick()
                next_tick = now + TICK_INTERVAL_S
            if now >= next_checkpoint:
                self.checkpoint()
                next_checkpoint = now + CHECKPOINT_INTERVAL_S
            if now >= next_world:
                self.refresh_world()
                next_world = now + WORLD_REFRESH_S
