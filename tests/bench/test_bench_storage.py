"""`dayuan bench storage` on an hour of the reference compound, as a user runs it (the CLI
in a process of its own, on a fresh database of the test server): its JSON counts the
points it stored, and their bytes before and after compression. On a server with
TimescaleDB preloaded the run is in that mode, and compression must make the points
smaller; on plain PostgreSQL nothing is compressed. No time is asserted: the figures are
for the reader (README, Storage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fix_db import ADMIN_URL, timescaledb_available

# Whole-run limit: generous for a loaded machine (the run itself takes seconds).
RUN_LIMIT_S = 600
HOURS = 1


def test_bench_storage_counts_the_points_and_their_bytes() -> None:
    command = [sys.executable, "-m", "dayuan.cli", "bench", "storage", "--days", str(HOURS / 24)]
    env = {**os.environ, "DAYUAN_DATABASE_URL": ADMIN_URL, "DAYUAN_LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, env=env, capture_output=True, timeout=RUN_LIMIT_S, check=False)
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    result = json.loads(done.stdout)

    assert result["benchmark"] == "storage"
    assert result["points"] > result["series"] > 100  # every device of the compound
    assert result["bytes_per_point_before"] > 8  # at least the value's own bytes
    if timescaledb_available():
        assert result["mode"] == "timescaledb"
        assert result["bytes_per_point_after"] < result["bytes_per_point_before"] / 4
    else:
        assert result["mode"] == "postgres"
        assert result["bytes_per_point_after"] == result["bytes_per_point_before"]
