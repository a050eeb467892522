"""A gateway or rules process without the API still exposes its own /metrics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

import monitoring
from dayuan import _metrics_server
from gateway import GatewayMetrics


def test_process_metrics_are_served_in_prometheus_text() -> None:
    metrics = GatewayMetrics(received=7, stored_messages=5, takeovers=1, adopted=40)
    metrics.rejected["malformed_json"] += 2
    metrics.observe_commit(0.25, 5)
    sources = monitoring.MetricSources(gateway=metrics)
    reason: list[str | None] = ["not subscribed on the broker"]
    with _metrics_server.serve(
        "127.0.0.1", 0, lambda: monitoring.render_process(sources), lambda: reason[0]
    ) as port:
        with pytest.raises(urllib.error.HTTPError) as unready:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert unready.value.code == 503
        assert json.loads(unready.value.read())["detail"] == "not subscribed on the broker"
        unready.value.close()
        reason[0] = None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert json.loads(ready.read()) == {"status": "ready"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
            assert reply.headers["Content-Type"].startswith("text/plain")
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
        missing.value.close()
    assert "dayuan_messages_received_total 7" in text
    assert 'dayuan_messages_rejected_total{reason="malformed_json"} 2' in text
    assert "dayuan_commit_seconds_count 1" in text
    assert "dayuan_takeovers_total 1" in text
    assert "dayuan_messages_adopted_total 40" in text
    assert missing.value.code == 404


def _status(port: int, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


def test_process_metrics_take_the_scrape_token() -> None:
    sources = monitoring.MetricSources(gateway=GatewayMetrics())
    with _metrics_server.serve(
        "127.0.0.1", 0, lambda: monitoring.render_process(sources), token="scrape-token-for-tests"
    ) as port:
        assert _status(port) == 401
        assert _status(port, {"Authorization": "Bearer wrong"}) == 401
        assert _status(port, {"Authorization": "Bearer scrape-token-for-tests"}) == 200
    with _metrics_server.serve(
        "127.0.0.1", 0, lambda: monitoring.render_process(sources), closed_without_token=True
    ) as port:
        assert _status(port) == 403
