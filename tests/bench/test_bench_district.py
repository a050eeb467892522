"""`dayuan bench district` in a tiny configuration, as a user runs it (the CLI in a
process of its own, on a test database with the API tests' compound loaded): it opens the
cases asked for and reads the district as an administrator and as a grid worker. No
time is asserted: the figures are for the reader (README, The dashboard)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import psycopg

import registry
from tests.api.conftest import full_registry

# Whole-run limit: generous for a loaded machine (the run itself takes a few seconds).
RUN_LIMIT_S = 600
CASES = 30


def test_bench_district_opens_the_cases_and_reads_the_district_as_two_users(
    db_url: str,
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:  # a compound with flats
        registry.load(conn, full_registry(), actor="test:setup", now=datetime.now(UTC))
    command = [sys.executable, "-m", "dayuan.cli", "bench", "district"]
    command += ["--cases", str(CASES), "--reads", "3"]
    env = {**os.environ, "DAYUAN_DATABASE_URL": db_url, "DAYUAN_LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, env=env, capture_output=True, timeout=RUN_LIMIT_S, check=False)
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    result = json.loads(done.stdout)

    assert result["benchmark"] == "district"
    assert sum(result["cases"].values()) == CASES
    assert set(result["cases"]) <= {"dispatched", "acknowledged", "closed"}
    admin, grid_worker = result["reads_ms"]["admin"], result["reads_ms"]["grid_worker"]
    assert (admin["compounds"], grid_worker["compounds"]) == (1, 1)
    assert 0 < admin["open"] <= CASES
    assert grid_worker["open"] <= admin["open"]  # one grid's cases of the compound's
    assert {"median", "max", "bytes"} <= admin.keys()
