"""`dayuan bench rollups` in a tiny configuration, as a user runs it (the CLI in a process
of its own, on fresh databases of the test server): its JSON has both triggers' times,
and a late reading's refresh rewrites its device-hour's rows while the baseline rewrites
the whole hour's. No time is asserted: the figures are for the reader (README, Storage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fix_db import ADMIN_URL

# Whole-run limit: generous for a loaded machine (the run itself takes a few seconds).
RUN_LIMIT_S = 600
DEVICES = 4


def test_bench_rollups_measures_both_triggers_and_both_refreshes() -> None:
    command = [sys.executable, "-m", "dayuan.cli", "bench", "rollups", "--devices", "20"]
    command += ["--statements", "3", "--history-devices", str(DEVICES)]
    env = {**os.environ, "DAYUAN_DATABASE_URL": ADMIN_URL, "DAYUAN_LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, env=env, capture_output=True, timeout=RUN_LIMIT_S, check=False)
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    result = json.loads(done.stdout)

    assert result["benchmark"] == "rollups"
    marks = result["marks"]
    assert marks["rows_per_statement"] == 100
    for load in ("live", "backfill_2d"):
        assert set(marks["trigger_ms_median"][load]) == {"before_0019", "now"}
    refresh = result["refresh"]
    assert refresh["rollup_rows_rewritten"] == {"device_hour": 5, "whole_hour": DEVICES * 5}
    assert refresh["telemetry_rows"] >= DEVICES * 5 * 2 * 24 * 60
