"""A maintenance step that fails is visible where an operator looks: `/readyz` names it
and `/metrics` counts it, while the other steps (retention) still run."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg

from api import create_app
from dayuan import wiring
from tests.api.conftest import config_for, serve


def test_a_failing_rollup_shows_in_readyz_and_metrics(api_db: str, clock: Any) -> None:
    with psycopg.connect(api_db, autocommit=True) as conn:
        conn.execute("DROP TABLE telemetry_hourly CASCADE")  # every rollup step now fails
    with (
        wiring.pool(api_db) as db,
        wiring.maintenance(db, interval_s=0.05) as status,
    ):
        deadline = time.monotonic() + 30
        while status.passes == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status.passes > 0, "no maintenance pass ran"
        app = create_app(config_for(api_db, None), clock=clock, maintenance=status)
        with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
            ready = client.get("/readyz")
            metrics = client.get("/metrics").text
    assert ready.status_code == 200, ready.text  # shown, not a reason to stop serving
    assert "rollups failing" in ready.json()["maintenance"]
    assert 'dayuan_maintenance_steps_failing{step="rollups"} 1' in metrics
    assert "dead_letter_retention" not in ready.json()["maintenance"]  # the others ran
