"""`dayuan bench api` in a tiny configuration, as a user runs it (the CLI in a process of
its own, on a fresh database of the test server, the API in another): its JSON has the
rows it made, both baselines and every route's p50 and p99. No time is asserted: the
figures are for the reader (README, Benchmarks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fix_db import ADMIN_URL

# Whole-run limit: generous for a loaded machine (the run itself takes under a minute).
RUN_LIMIT_S = 600
CASES = 300


def test_bench_api_times_every_route_beside_its_baselines() -> None:
    command = [sys.executable, "-m", "dayuan.cli", "bench", "api", "--compounds", "1"]
    command += ["--cases", str(CASES), "--requests", "3"]
    env = {**os.environ, "DAYUAN_DATABASE_URL": ADMIN_URL, "DAYUAN_LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, env=env, capture_output=True, timeout=RUN_LIMIT_S, check=False)
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    result = json.loads(done.stdout)

    assert result["benchmark"] == "api"
    assert result["rows"]["compounds"] == 1
    assert result["rows"]["cases"] == CASES
    assert result["rows"]["alarms"] == 2 * CASES
    assert set(result["baseline"]) == {"healthz", "select_1"}
    routes = result["routes"]
    for name in ("cases_first_page", "cases_deep_by_cursor", "cases_deep_by_offset"):
        assert set(routes[name]) == {"p50_ms", "p99_ms"}, name
    assert {"alarms_deep_by_cursor", "kpis_by_compound_year", "kpis_by_party_year"} <= set(routes)
