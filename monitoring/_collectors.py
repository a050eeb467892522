"""The collectors: `ProcessCollector` over this process's own counters, `DatabaseCollector`
over the gauges every process shares, computed from the database at scrape time. Names,
types and labels are those the dashboards were built on; do not rename them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

import cases
import ingest
import notify
import rules
from gateway import GatewayMetrics
from monitoring._latency import LATENCY_WINDOW, QUANTILES
from monitoring._sources import MetricSources

Conn = psycopg.Connection[tuple[Any, ...]]
DEAD_LETTER_WINDOW = timedelta(hours=1)


def _counter(name: str, help_: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_, value=value)


def _by_label(
    family: type[CounterMetricFamily | GaugeMetricFamily],
    name: str,
    help_: str,
    label: str,
    counts: Sequence[tuple[str, float]],
) -> CounterMetricFamily | GaugeMetricFamily:
    metric = family(name, help_, labels=[label])
    for value, n in counts:
        metric.add_metric([value], n)
    return metric


def _summary(name: str, help_: str, values: Sequence[float]) -> SummaryMetricFamily:
    """Quantiles of the last observations, then their sum and count (a Prometheus
    summary without a `_created`: the windows are not cumulative since a start)."""
    ordered = sorted(values)
    metric = SummaryMetricFamily(name, f"{help_} (the last {LATENCY_WINDOW} observations)")
    for q in QUANTILES if ordered else ():
        value = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        metric.add_sample(name, {"quantile": str(q)}, value)
    metric.add_metric([], count_value=len(ordered), sum_value=sum(ordered))
    return metric


class ProcessCollector(Collector):
    """This process's counters: whichever of the sources it runs."""

    def __init__(self, sources: MetricSources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        s = self._sources
        if s.maintenance is not None:
            yield from _maintenance(s.maintenance)
        if s.gateway is not None:
            yield from _gateway(s.gateway)
        if s.engine is not None:
            yield from _engine(s.engine)
        if s.alarm_latency is not None:
            yield _summary(
                "dayuan_alarm_latency_seconds",
                "From the gateway receiving the evidence to the alarm opening",
                s.alarm_latency.snapshot(),
            )


def _maintenance(status: ingest.MaintenanceStatus) -> Iterator[Metric]:
    yield _counter(
        "dayuan_maintenance_passes_total", "Maintenance passes run by this process", status.passes
    )
    help_ = (
        "Maintenance steps that failed in the last pass (retention, rollups; 'all': the"
        " database was unreachable); 0 when every step ran"
    )
    failing = sorted(status.failing())
    if not failing:
        yield GaugeMetricFamily("dayuan_maintenance_steps_failing", help_, value=0)
        return
    counts = [(step, 1) for step in failing]
    yield _by_label(GaugeMetricFamily, "dayuan_maintenance_steps_failing", help_, "step", counts)


def _gateway(g: GatewayMetrics) -> Iterator[Metric]:
    yield _counter("dayuan_messages_received_total", "MQTT messages received", g.received)
    yield _counter("dayuan_messages_stored_total", "Validated objects committed", g.stored_messages)
    yield _by_label(
        CounterMetricFamily,
        "dayuan_messages_rejected_total",
        "Messages dead-lettered by this gateway, by reason",
        "reason",
        sorted(g.rejected.items()),
    )
    yield _counter(
        "dayuan_dead_letters_suppressed_total",
        "Dead letters over their device's budget: counted here and in a suppressed row",
        g.dead_letters_suppressed,
    )
    yield _counter(
        "dayuan_storage_retries_total",
        "Batch writes retried while storage was unavailable",
        g.retries,
    )
    yield _counter(
        "dayuan_takeovers_total",
        "Departed gateways' sessions this gateway drained and ended",
        g.takeovers,
    )
    yield _counter(
        "dayuan_messages_adopted_total",
        "Messages received from departed gateways' sessions",
        g.adopted,
    )
    yield _summary("dayuan_batch_size", "Deliveries per committed batch", list(g.batch_sizes))
    yield _summary("dayuan_commit_seconds", "Batch commit latency", list(g.commit_seconds))


def _engine(e: rules.EngineMetrics) -> Iterator[Metric]:
    yield _counter("dayuan_rules_evaluated_total", "Messages evaluated by the rules", e.evaluated)
    yield _counter("dayuan_rules_dropped_total", "Messages not evaluated (backlog full)", e.dropped)


class DatabaseCollector(Collector):
    """The gauges of the whole deployment, read on `conn` when scraped, each through
    its owner's public read (cases, rules, ingest, notify): nothing here runs SQL."""

    def __init__(self, conn: Conn, *, now: datetime, silence_factor: float) -> None:
        self._conn = conn
        self._now = now
        self._silence_factor = silence_factor

    def collect(self) -> Iterator[Metric]:
        yield _by_label(
            GaugeMetricFamily,
            "dayuan_cases",
            "Cases by state (open: new, dispatched, acknowledged, in_progress, reopened)",
            "state",
            [(state.value, n) for state, n in cases.count_by_state(self._conn).items()],
        )
        yield _by_label(
            GaugeMetricFamily,
            "dayuan_open_alarms",
            "Open alarms by severity",
            "severity",
            [(sev.value, n) for sev, n in rules.open_alarms_by_severity(self._conn).items()],
        )
        yield self._devices()
        since = self._now - DEAD_LETTER_WINDOW
        yield _by_label(
            GaugeMetricFamily,
            "dayuan_dead_letters_last_hour",
            "Messages dead-lettered in the last hour, by reason (all gateways)",
            "reason",
            list(ingest.dead_letters_by_reason(self._conn, since=since).items()),
        )
        yield from self._notifications()

    def _devices(self) -> Metric:
        presence = ingest.presence(self._conn, now=self._now, silence_factor=self._silence_factor)
        online = sum(p.online for p in presence)
        counts = [("online", online), ("offline", len(presence) - online)]
        return _by_label(
            GaugeMetricFamily,
            "dayuan_devices",
            "Registered devices by presence",
            "status",
            counts,
        )

    def _notifications(self) -> Iterator[Metric]:
        counts = notify.counts_by_state(self._conn)
        yield _by_label(
            GaugeMetricFamily,
            "dayuan_notifications",
            "Notifications by delivery state (all notifiers)",
            "state",
            [(state.value, n) for state, n in counts.items()],
        )
        yield GaugeMetricFamily(
            "dayuan_notify_outbox_unplanned",
            "Case events waiting for a notifier to plan their notifications",
            value=notify.unplanned(self._conn),
        )
