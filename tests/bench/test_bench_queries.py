"""`dayuan bench queries` in a tiny configuration, as a user runs it (the CLI in a process
of its own, on a fresh database of the test server): two days of the reference
compound's telemetry reach the rollup, the district's cases are copied in, and every
read is timed and answered. No time is asserted: the figures are for the reader
(README, Benchmarks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fix_db import ADMIN_URL

# Whole-run limit: generous for a loaded machine (the run itself takes under a minute).
RUN_LIMIT_S = 600
DAYS = 2
COMPOUNDS = 3
READS = {"select_1", "kpis_by_compound_365d"} | {
    f"{way}_{span}" for way in ("series", "route") for span in ("1d", "30d", "365d")
}


def test_bench_queries_loads_a_small_history_and_times_every_read() -> None:
    command = [sys.executable, "-m", "dayuan.cli", "bench", "queries", "--days", str(DAYS)]
    command += ["--compounds", str(COMPOUNDS), "--cases-per-day", "4", "--runs", "3"]
    env = {**os.environ, "DAYUAN_DATABASE_URL": ADMIN_URL, "DAYUAN_LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, env=env, capture_output=True, timeout=RUN_LIMIT_S, check=False)
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    result = json.loads(done.stdout)

    assert result["benchmark"] == "queries"
    telemetry = result["telemetry"]
    assert telemetry["telemetry_rows"] == DAYS * telemetry["rows_per_day"] > 0
    # One reading kept per series and hour: every raw row is an hour of its own series.
    assert telemetry["rollup_rows"] == telemetry["telemetry_rows"]
    assert result["cases"] == {"compounds": COMPOUNDS, "cases": COMPOUNDS * DAYS * 4} | {
        "copy_s": result["cases"]["copy_s"]
    }
    assert set(result["ms"]) == READS
    for figures in result["ms"].values():
        assert figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
        assert figures["samples"] == 3
    # The series answered with the device's 7 keys (the light's), as the route did.
    assert result["series_keys"] == 7
    assert {"series_30d", "kpis_by_compound_365d"} <= set(result["plans"])
