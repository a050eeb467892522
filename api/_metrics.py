"""`GET /metrics` in the Prometheus text format (version 0.0.4), written by hand: a few
dozen lines do not need a client library.

In-process sources (a gateway's `GatewayMetrics`, a rule engine's `EngineMetrics`, an
`AlarmLatency` recorder) are optional: an API process beside a gateway passes them to
`create_app`. Gauges from the database (open cases, open alarms, devices online, dead
letters) are computed at scrape time.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ingest
import notify
from api._db import Conn, rows
from gateway import GatewayMetrics
from rules import AlarmChange, ChangeKind, EngineMetrics

QUANTILES = (0.5, 0.9, 0.99)
# Alarm latencies kept for the quantiles: the last few hundred alarms.
LATENCY_WINDOW = 1024
DEAD_LETTER_WINDOW = timedelta(hours=1)


class AlarmLatency:
    """An `AlarmSink` that records evidence-received-to-alarm-opened latency; chain it
    beside the workflow's sink in the process that runs the rule engine."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def emit(self, change: AlarmChange) -> None:
        if change.change is ChangeKind.OPENED and change.received_at is not None:
            with self._lock:
                self.seconds.append((change.emitted_at - change.received_at).total_seconds())

    def snapshot(self) -> list[float]:
        with self._lock:
            return list(self.seconds)


@dataclass(frozen=True, slots=True)
class MetricSources:
    gateway: GatewayMetrics | None = None
    engine: EngineMetrics | None = None
    alarm_latency: AlarmLatency | None = None
    maintenance: ingest.MaintenanceStatus | None = None


@dataclass(slots=True)
class _Writer:
    lines: list[str] = field(default_factory=list)

    def metric(
        self, name: str, kind: str, help_: str, samples: Iterable[tuple[str, float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{labels} {value:g}")

    def summary(self, name: str, help_: str, values: Sequence[float]) -> None:
        ordered = sorted(values)
        self.lines.append(f"# HELP {name} {help_} (the last {LATENCY_WINDOW} observations)")
        self.lines.append(f"# TYPE {name} summary")
        for q in QUANTILES if ordered else ():
            value = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
            self.lines.append(f'{name}{{quantile="{q}"}} {value:g}')
        self.lines.append(f"{name}_sum {sum(ordered):g}")
        self.lines.append(f"{name}_count {len(ordered)}")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(conn: Conn, sources: MetricSources, *, now: datetime, silence_factor: float) -> str:
    w = _Writer()
    _in_process(w, sources)
    cases = rows(conn, "SELECT state, count(*) AS n FROM cases GROUP BY state ORDER BY state")
    w.metric(
        "dayuan_cases",
        "gauge",
        "Cases by state (open: new, dispatched, acknowledged, in_progress, reopened)",
        [(f'{{state="{_label(r["state"])}"}}', r["n"]) for r in cases],
    )
    alarms = rows(
        conn,
        "SELECT severity, count(*) AS n FROM alarms WHERE cleared_at IS NULL"
        " GROUP BY severity ORDER BY severity",
    )
    w.metric(
        "dayuan_open_alarms",
        "gauge",
        "Open alarms by severity",
        [(f'{{severity="{_label(r["severity"])}"}}', r["n"]) for r in alarms],
    )
    presence = ingest.presence(conn, now=now, silence_factor=silence_factor)
    online = sum(p.online for p in presence)
    w.metric(
        "dayuan_devices",
        "gauge",
        "Registered devices by presence",
        [('{status="online"}', online), ('{status="offline"}', len(presence) - online)],
    )
    letters = rows(
        conn,
        "SELECT reason, count(*) AS n FROM dead_letters WHERE received_at >= %s"
        " GROUP BY reason ORDER BY reason",
        (now - DEAD_LETTER_WINDOW,),
    )
    w.metric(
        "dayuan_dead_letters_last_hour",
        "gauge",
        "Messages dead-lettered in the last hour, by reason (all gateways)",
        [(f'{{reason="{_label(r["reason"])}"}}', r["n"]) for r in letters],
    )
    _notifications(w, conn)
    return "\n".join(w.lines) + "\n"


def _notifications(w: _Writer, conn: Conn) -> None:
    counts = notify.counts_by_state(conn)
    w.metric(
        "dayuan_notifications",
        "gauge",
        "Notifications by delivery state (all notifiers)",
        [(f'{{state="{s.value}"}}', n) for s, n in counts.items()],
    )
    w.metric(
        "dayuan_notify_outbox_unplanned",
        "gauge",
        "Case events waiting for a notifier to plan their notifications",
        [("", notify.unplanned(conn))],
    )


def _in_process(w: _Writer, sources: MetricSources) -> None:
    if sources.maintenance is not None:
        failing = sources.maintenance.failing()
        w.metric(
            "dayuan_maintenance_passes_total",
            "counter",
            "Maintenance passes run by this process",
            [("", sources.maintenance.passes)],
        )
        w.metric(
            "dayuan_maintenance_steps_failing",
            "gauge",
            "Maintenance steps that failed in the last pass (retention, rollups; 'all': the"
            " database was unreachable); 0 when every step ran",
            [(f'{{step="{_label(step)}"}}', 1) for step in sorted(failing)] or [("", 0)],
        )
    g = sources.gateway
    if g is not None:
        w.metric(
            "dayuan_messages_received_total",
            "counter",
            "MQTT messages received",
            [("", g.received)],
        )
        w.metric(
            "dayuan_messages_stored_total",
            "counter",
            "Validated objects committed",
            [("", g.stored_messages)],
        )
        w.metric(
            "dayuan_messages_rejected_total",
            "counter",
            "Messages dead-lettered by this gateway, by reason",
            [(f'{{reason="{_label(r)}"}}', n) for r, n in sorted(g.rejected.items())],
        )
        w.metric(
            "dayuan_dead_letters_suppressed_total",
            "counter",
            "Dead letters over their device's budget: counted here and in a suppressed row",
            [("", g.dead_letters_suppressed)],
        )
        w.metric(
            "dayuan_storage_retries_total",
            "counter",
            "Batch writes retried while storage was unavailable",
            [("", g.retries)],
        )
        w.metric(
            "dayuan_takeovers_total",
            "counter",
            "Departed gateways' sessions this gateway drained and ended",
            [("", g.takeovers)],
        )
        w.metric(
            "dayuan_messages_adopted_total",
            "counter",
            "Messages received from departed gateways' sessions",
            [("", g.adopted)],
        )
        w.summary("dayuan_batch_size", "Deliveries per committed batch", list(g.batch_sizes))
        w.summary("dayuan_commit_seconds", "Batch commit latency", list(g.commit_seconds))
    e = sources.engine
    if e is not None:
        w.metric(
            "dayuan_rules_evaluated_total",
            "counter",
            "Messages evaluated by the rules",
            [("", e.evaluated)],
        )
        w.metric(
            "dayuan_rules_dropped_total",
            "counter",
            "Messages not evaluated (backlog full)",
            [("", e.dropped)],
        )
    if sources.alarm_latency is not None:
        w.summary(
            "dayuan_alarm_latency_seconds",
            "From the gateway receiving the evidence to the alarm opening",
            sources.alarm_latency.snapshot(),
        )


def render_process(sources: MetricSources) -> str:
    """The metrics of this process alone (a gateway or rules process without the API)."""
    w = _Writer()
    _in_process(w, sources)
    return "\n".join(w.lines) + "\n"
