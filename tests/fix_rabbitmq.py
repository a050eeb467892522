"""A private RabbitMQ node with its MQTT plugin (`bench.RabbitNode`: own node name, ports,
data and cookie in the test's directory, never the system's node), for the tests that
crash a broker which stores messages durably. Where RabbitMQ is not installed they are
skipped, saying so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import RabbitNode, rabbitmq_installed

NOT_INSTALLED = (
    "rabbitmq-server is not installed (Debian: apt-get install rabbitmq-server, 3.x with its"
    " rabbitmq_mqtt plugin): the zero-loss-across-a-broker-crash path is untested here"
)
needs_rabbitmq = pytest.mark.skipif(not rabbitmq_installed(), reason=NOT_INSTALLED)


@pytest.fixture
def rabbitmq(tmp_path: Path) -> Iterator[RabbitNode]:
    """A started node; `rabbitmq.stop(signal.SIGKILL)` crashes it, `start()` restarts it
    on the same ports and data."""
    if not rabbitmq_installed():
        pytest.skip(NOT_INSTALLED)
    with RabbitNode(tmp_path / "rabbitmq") as node:
        yield node
