"""Monitoring for every process: Prometheus metrics through `prometheus_client` and the
`/healthz` and `/readyz` answers of the processes that serve no API. Custom collectors
read the in-process counters (a gateway's `GatewayMetrics`, a rule engine's
`EngineMetrics`, an `AlarmLatency` recorder, the maintenance loop's `MaintenanceStatus`)
and, where a database connection is given, the gauges computed at scrape time; each
render builds its own `CollectorRegistry`, so nothing is registered at import. No HTTP
framework here: the API and the process metrics server serve what this package renders.
"""

from monitoring._collectors import DatabaseCollector, ProcessCollector
from monitoring._health import liveness, maintenance_note, readiness
from monitoring._latency import LATENCY_WINDOW, QUANTILES, AlarmLatency
from monitoring._render import CONTENT_TYPE, render, render_process, render_with_database
from monitoring._sources import MetricSources

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_WINDOW",
    "QUANTILES",
    "AlarmLatency",
    "DatabaseCollector",
    "MetricSources",
    "ProcessCollector",
    "liveness",
    "maintenance_note",
    "readiness",
    "render",
    "render_process",
    "render_with_database",
]
