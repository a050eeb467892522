"""The broker stopped and killed under traffic (`dayuan bench faults`): a real Mosquitto
from the generated config (persistence on), a `dayuan gateway` process on a shared
subscription (the case Mosquitto 2.0 does not restore; a single gateway subscribes plainly
by default), the simulator in fleet mode with a manifest, resending what a PUBACK 0x10
routed to nobody as the MQTT contract asks of devices. The default suite runs one short
scenario; DAYUAN_FAULTS=long runs the sequences of issue 15, on both subscriptions."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench import Plan, run_scenario
from dayuan.settings import Settings
from tests.fix_db import ADMIN_URL

LONG = os.environ.get("DAYUAN_FAULTS") == "long"


def _plan(
    faults: str,
    *,
    rate: float,
    duration_s: float,
    autosave_interval: int = 60,
    share_group: bool = True,
) -> Plan:
    return Plan(
        faults=tuple(faults.split(",")),
        rate=rate,
        duration_s=duration_s,
        first_at_s=duration_s / 4,
        spacing_s=duration_s / 4,
        autosave_interval=autosave_interval,
        autosave_on_changes=False,
        share_group=share_group,
    )


def _run(plan: Plan) -> dict[str, Any]:
    return run_scenario(plan, Settings(database_url=ADMIN_URL))


def _assert_accounted(result: dict[str, Any]) -> None:
    assert result["acknowledged_by_broker"] == result["publishes"], result
    assert result["unexpected"] == 0, result
    assert result["stored"] == result["expected"], result
    assert result["lost"] == 0, result


@pytest.mark.faults
def test_a_broker_restarted_twice_under_traffic_loses_nothing() -> None:
    # Each restart forgets the shared subscription: the gateway is back within a quarter
    # second of the broker, and what devices published before that (PUBACK 0x10) they
    # publish again (README, "Broker restarts and crashes"). Restarts at 4 s and 8 s, as
    # long again of traffic after them: a broker restart takes well under a second.
    _assert_accounted(_run(_plan("term-restart,term-restart", rate=500, duration_s=16)))


_KILL_WINDOW = pytest.mark.xfail(
    strict=False,
    reason="the SIGKILL window: what the broker acknowledged since its last save and had not"
    " yet written to the gateway is gone (measured: 0-3,900 messages at ~3,000/s)",
)


@pytest.mark.faults
@pytest.mark.skipif(not LONG, reason="long broker-fault scenarios: DAYUAN_FAULTS=long")
@pytest.mark.parametrize("share_group", [True, False], ids=["shared", "plain"])
@pytest.mark.parametrize(
    "faults",
    [
        "term-restart,term-restart",
        pytest.param("term-restart,kill-restart", marks=_KILL_WINDOW),
        pytest.param("kill-restart", marks=_KILL_WINDOW),
    ],
)
def test_broker_fault_sequences_lose_nothing(faults: str, share_group: bool) -> None:
    # Autosave every second: a SIGKILL restores a snapshot at most a second old.
    plan = _plan(faults, rate=3000, duration_s=60, autosave_interval=1, share_group=share_group)
    _assert_accounted(_run(plan))
