"""Staff read a message's times on their compound's clock (its `timezone`, Asia/Shanghai
unless the compound file says otherwise), with the zone named, not as UTC offsets: an SOS
opened at 08:00 UTC says 16:00 CST. The machine-readable document stays UTC."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

import cases
import registry
from domain import CompoundFile, Language
from tests.cases.conftest import T0, sos
from tests.notify.conftest import Conn, Receiver, with_contacts

pytestmark = pytest.mark.usefixtures("schema_url")


def _load(url: str, receiver: Receiver, zone: str | None = None) -> None:
    compound = with_contacts(
        {"s-worker2": [receiver.url("json", "/zh")], "s-cadre2": [receiver.url("json", "/en")]},
        {"s-cadre2": Language.EN},
    )
    if zone is not None:
        compound = compound.model_copy(update={"timezone": zone})
    with psycopg.connect(url) as conn:
        registry.load(conn, CompoundFile(compounds=[compound]), actor="test", now=T0)


def test_staff_read_the_times_in_the_compounds_time_zone(
    schema_url: str,
    conn: Conn,
    workflow: cases.Workflow,
    receiver: Receiver,
    run_notifiers: Callable[..., object],
) -> None:
    _load(schema_url, receiver)
    workflow.intake_alarm(conn, sos(at=T0))
    run_notifiers()

    zh = receiver.wait_for(1, "/zh")[0].json()["message"]
    en = receiver.wait_for(1, "/en")[0].json()["message"]
    assert "发生：2024-03-01 16:00:00 CST" in zh  # noqa: RUF001 - the Chinese colon
    assert "Opened: 2024-03-01 16:00:00 CST" in en
    for message in (zh, en):
        assert "+00:00" not in message
        assert "T08:00" not in message


def test_another_compound_zone_is_read_on_its_own_clock(
    schema_url: str,
    conn: Conn,
    workflow: cases.Workflow,
    receiver: Receiver,
    run_notifiers: Callable[..., object],
) -> None:
    _load(schema_url, receiver, zone="Europe/Berlin")
    workflow.intake_alarm(conn, sos(at=T0))
    run_notifiers()

    en = receiver.wait_for(1, "/en")[0].json()["message"]
    assert "Opened: 2024-03-01 09:00:00 CET" in en
    assert "CST" not in en
