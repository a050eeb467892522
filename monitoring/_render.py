"""Rendering: a fresh `CollectorRegistry` per call holding only the collectors asked for,
so a scrape never shows another process's, a test's or a library's default collectors."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from monitoring._collectors import Conn, DatabaseCollector, ProcessCollector
from monitoring._sources import MetricSources

# What `generate_latest` writes: the text format 0.0.4 (prometheus_client's
# CONTENT_TYPE_LATEST names 1.0.0, which its plain renderer does not produce).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def render(*collectors: Collector) -> bytes:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


def render_process(sources: MetricSources) -> bytes:
    """The metrics of this process alone (a gateway or rules process without the API)."""
    return render(ProcessCollector(sources))


def render_with_database(
    sources: MetricSources, conn: Conn, *, now: datetime, silence_factor: float
) -> bytes:
    """This process's metrics and the deployment's gauges read on `conn` (the API's)."""
    return render(
        ProcessCollector(sources),
        DatabaseCollector(conn, now=now, silence_factor=silence_factor),
    )
