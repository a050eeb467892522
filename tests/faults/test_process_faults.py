"""The product's processes and its database failing under traffic (`dayuan bench faults`,
`bench._process_faults`): separate `dayuan gateway` and `dayuan rules run` processes, a
real Mosquitto from the generated config, PostgreSQL, the simulator with a manifest.

The default suite runs every fault but `api-kill` once, in one run (a run's setup is
most of its cost); DAYUAN_FAULTS=long runs each alone, longer and faster. What a user
would notice is asserted: every message the broker acknowledged stored once, every SOS
and fall counted by one alarm that opened one case, every live-feed event delivered once
across the API's restart - never how long anything took."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench import ProcessPlan, run_process_scenario
from dayuan.settings import Settings
from tests.fix_db import ADMIN_URL

LONG = os.environ.get("DAYUAN_FAULTS") == "long"


def _run(plan: ProcessPlan) -> dict[str, Any]:
    return run_process_scenario(plan, Settings(database_url=ADMIN_URL))


def _assert_nothing_lost(result: dict[str, Any]) -> None:
    assert result["acknowledged_by_broker"] == result["publishes"], result
    assert result["lost"] == 0, result
    assert result["stored"] == result["expected"] > 0, result
    assert result["duplicated"] == 0, result
    assert result["unexpected"] == 0, result
    assert result["dead_letters"] == {}, result  # the faults are no message's fault
    died = {name: p["died"] for name, p in result["processes"].items() if p["died"]}
    assert died == {}, f"processes that exited on their own: {died}"


def _assert_alarms_whole(result: dict[str, Any]) -> None:
    alarms = result["alarms"]
    assert alarms["evidence_stored"] > 0, "no SOS or fall reached storage: proves nothing"
    assert alarms["evidence_missing"] == 0, alarms
    assert alarms["doubled"] == 0, alarms
    assert alarms["alarms_raised"] == alarms["alarms_expected"], alarms
    assert alarms["cases_opened"] == alarms["alarms_raised"], alarms


def _process(result: dict[str, Any], name: str) -> dict[str, Any]:
    process: dict[str, Any] = result["processes"][name]
    return process


@pytest.mark.faults
def test_every_process_and_database_fault_in_one_run_loses_and_doubles_nothing() -> None:
    # `api-kill` is left to the long suite: the API's restart (importing FastAPI on the
    # loaded box) alone doubled this run's length.
    result = _run(
        ProcessPlan(
            faults=("gateway-kill", "gateway-dies", "rules-kill", "db-readonly", "db-restart"),
            rate=500,
            duration_s=36,
            first_at_s=4,
            spacing_s=4,
            takeover_delay_s=3,  # the survivor adopts the dead gateway's session within the run
            db_down_s=4,
        )
    )
    _assert_nothing_lost(result)
    _assert_alarms_whole(result)
    assert _process(result, "gateway faults-1")["starts"] == 2
    assert _process(result, "rules")["starts"] == 2
    # The faults were felt: a takeover happened, the database was retried, reconnected.
    assert _process(result, "gateway faults-1")["takeovers"] >= 1, result
    assert _process(result, "gateway faults-1")["retries"] > 0, result
    assert result["database_connections_via_proxy"] > 1, result


def _assert_feeds_whole(result: dict[str, Any]) -> None:
    feeds = result["feeds"]
    kills = sum(1 for fault, _ in result["faults_at_s"] if fault == "api-kill")
    assert _process(result, "api")["starts"] == 1 + kills
    for client in feeds["clients"]:
        assert client["connects"] >= 2, client  # the kill broke the stream; it came back
        assert client["expected"]["case"] > 0, client
        assert client["missing"] == {"alarm": 0, "case": 0}, client
        assert client["duplicated"] == 0, client


_LONG = pytest.mark.skipif(not LONG, reason="long process-fault scenarios: DAYUAN_FAULTS=long")


def _long(faults: str, **extra: float) -> ProcessPlan:
    plan: dict[str, Any] = {
        "rate": 2000,
        "duration_s": 60,
        "first_at_s": 15,
        "spacing_s": 15,
        **extra,
    }
    return ProcessPlan(faults=tuple(faults.split(",")), **plan)


@pytest.mark.faults
@_LONG
@pytest.mark.parametrize(
    "faults",
    ["gateway-kill,gateway-kill,gateway-kill", "gateway-dies", "db-restart", "db-readonly"],
)
def test_a_process_or_database_fault_under_load_loses_nothing(faults: str) -> None:
    result = _run(_long(faults, db_down_s=30))
    _assert_nothing_lost(result)


@pytest.mark.faults
@_LONG
def test_live_feeds_resume_whole_after_the_api_is_killed_twice() -> None:
    result = _run(_long("api-kill,api-kill", rate=1000))
    _assert_nothing_lost(result)
    _assert_alarms_whole(result)
    _assert_feeds_whole(result)


@pytest.mark.faults
@_LONG
def test_a_rules_process_killed_twice_raises_every_alarm_once() -> None:
    result = _run(_long("rules-kill,rules-kill", rate=1000))
    _assert_nothing_lost(result)
    _assert_alarms_whole(result)
    # The hard case: SOS presses and falls that came while the rules process was dead or
    # starting again (in its session then, unacknowledged).
    assert result["alarms"]["evidence_during_faults"] > 0, result["alarms"]
