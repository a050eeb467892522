"""What `monitoring` renders is Prometheus text that a Prometheus parser reads back into
the families, labels and values the dashboards use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

import ingest
import monitoring
import registry
from gateway import GatewayMetrics
from rules import EngineMetrics
from tests.api import data

Families = dict[str, tuple[str, list[Sample]]]


def _parse(text: bytes) -> Families:
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text.decode())}


def _values(samples: list[Sample], label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in samples}


def _gateway() -> GatewayMetrics:
    metrics = GatewayMetrics(received=1_234_567, stored_messages=5, takeovers=1, retries=3)
    metrics.rejected["malformed_json"] += 2
    metrics.rejected["unknown_device"] += 1
    for seconds, deliveries in ((0.25, 5), (0.5, 7), (0.125, 1)):
        metrics.observe_commit(seconds, deliveries)
    return metrics


def test_process_counters_parse_back_with_their_types_labels_and_values() -> None:
    maintenance = ingest.MaintenanceStatus()
    maintenance.unreachable("connection refused")
    sources = monitoring.MetricSources(
        gateway=_gateway(), engine=EngineMetrics(evaluated=9, dropped=1), maintenance=maintenance
    )
    families = _parse(monitoring.render_process(sources))

    kind, samples = families["dayuan_messages_received"]  # the parser drops `_total`
    assert kind == "counter"
    assert [(s.name, s.value) for s in samples] == [("dayuan_messages_received_total", 1234567)]
    kind, samples = families["dayuan_messages_rejected"]
    assert _values(samples, "reason") == {"malformed_json": 2, "unknown_device": 1}
    assert families["dayuan_rules_dropped"][1][0].value == 1
    kind, samples = families["dayuan_commit_seconds"]
    assert kind == "summary"
    by_name = {(s.name, s.labels.get("quantile")): s.value for s in samples}
    assert by_name[("dayuan_commit_seconds", "0.5")] == 0.25
    assert by_name[("dayuan_commit_seconds", "0.99")] == 0.5
    assert by_name[("dayuan_commit_seconds_count", None)] == 3
    assert by_name[("dayuan_commit_seconds_sum", None)] == 0.875
    kind, samples = families["dayuan_maintenance_steps_failing"]
    assert kind == "gauge"
    assert _values(samples, "step") == {"all": 1}
    assert "dayuan_alarm_latency_seconds" not in families  # no recorder in this process
    assert "dayuan_cases" not in families  # no database gauges without a connection


def test_an_idle_process_shows_zeros_and_empty_summaries() -> None:
    sources = monitoring.MetricSources(
        gateway=GatewayMetrics(), alarm_latency=monitoring.AlarmLatency()
    )
    families = _parse(monitoring.render_process(sources))
    assert families["dayuan_takeovers"][1][0].value == 0
    assert families["dayuan_messages_rejected"][1] == []
    latency = {s.name: s.value for s in families["dayuan_alarm_latency_seconds"][1]}
    assert latency == {
        "dayuan_alarm_latency_seconds_count": 0,
        "dayuan_alarm_latency_seconds_sum": 0,
    }


def test_database_gauges_are_read_at_scrape_time(conn: psycopg.Connection[Any]) -> None:
    data.dead_letter(conn, "malformed_json")
    data.dead_letter(conn, "malformed_json")
    data.dead_letter(conn, "unknown_device")
    devices = len(registry.device_refs(conn))
    text = monitoring.render_with_database(
        monitoring.MetricSources(), conn, now=datetime.now(UTC), silence_factor=3.0
    )
    families = _parse(text)
    kind, samples = families["dayuan_dead_letters_last_hour"]
    assert kind == "gauge"
    assert _values(samples, "reason") == {"malformed_json": 2, "unknown_device": 1}
    assert _values(families["dayuan_devices"][1], "status") == {"online": 0, "offline": devices}
    assert families["dayuan_cases"] == ("gauge", [])  # declared even when there are none
    assert families["dayuan_notify_outbox_unplanned"][1][0].value == 0
