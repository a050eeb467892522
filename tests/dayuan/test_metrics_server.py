"""A gateway or rules process without the API still exposes its own /metrics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

import api
from dayuan import _metrics_server
from gateway import GatewayMetrics


def test_process_metrics_are_served_in_prometheus_text() -> None:
    metrics = GatewayMetrics(received=7, stored_messages=5, takeovers=1, adopted=40)
    metrics.rejected["malformed_json"] += 2
    metrics.observe_commit(0.25, 5)
    sources = api.MetricSources(gateway=metrics)
    reason: list[str | None] = ["not subscribed on the broker"]
    with _metrics_server.serve(
        "127.0.0.1", 0, lambda: api.render_process(sources), lambda: reason[0]
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
