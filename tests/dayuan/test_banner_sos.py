"""The banner's "raise SOS" line is a working shell command: run as printed against the
project's Mosquitto (the fleet account), it opens an SOS alarm for the pendant it names."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

import rules
import simulators
from broker import MqttEndpoint
from dayuan import _up
from tests.factories import SOS, TEST_REGISTRY
from tests.fix_gateway import GatewayFactory, wait_for
from tests.fix_mqtt import FLEET, Broker


def test_the_banner_sos_line_raises_an_sos(
    run_gateway: GatewayFactory, broker: Broker, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    if shutil.which("mosquitto_pub") is None:
        pytest.fail("mosquitto_pub is not installed (.ci/run installs mosquitto-clients)")
    (tmp_path / "fleet-password").write_text(FLEET.password)
    target = simulators.MqttTarget(
        MqttEndpoint(broker.host, broker.port).as_user(FLEET.username, FLEET.password)
    )
    line = _up._try_sos(TEST_REGISTRY, target, tmp_path)
    command, _, where = line.partition("   (flat ")
    assert SOS in command
    assert where.startswith("3-2-301")
    with run_gateway(sink=rules.CollectingSink()):
        subprocess.run(["bash", "-c", command], check=True, timeout=30)
        found = wait_for(
            conn, f"SELECT rule_id FROM alarms WHERE device_id = '{SOS}'", "sos", timeout=30
        )
    assert found == "sos"
