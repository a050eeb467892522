"""What a process has to show: each in-process source is optional (an API process alone
has none; `dayuan up` or a gateway process passes its own)."""

from __future__ import annotations

from dataclasses import dataclass

import ingest
from gateway import GatewayMetrics
from monitoring._latency import AlarmLatency
from rules import EngineMetrics


@dataclass(frozen=True, slots=True)
class MetricSources:
    gateway: GatewayMetrics | None = None
    engine: EngineMetrics | None = None
    alarm_latency: AlarmLatency | None = None
    maintenance: ingest.MaintenanceStatus | None = None
