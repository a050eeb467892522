"""Quiet hours through the API: an administrator sets anyone's, a staff member their own,
anyone else gets 403; the API's are the ones used (by `registry.quiet_until`, what the
notifier asks), "none" overrides the file's, a reload of the compound file keeps them,
DELETE hands the person back to the file's; every read and write is audited and each
change is in the registry's change log."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

import registry
from domain import CompoundFile, QuietHours
from tests.api.conftest import Conn, full_registry
from tests.api.test_staff_contacts import H, audited, linked

__all__ = ["linked"]  # the fixture, shared with the contacts tests

V1 = "/api/v1"
# 2024-03-01 23:30 in Asia/Shanghai (the compounds' default zone): inside 22:00-07:00
NIGHT = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)


def quiet_url(staff: str) -> str:
    return f"{V1}/staff/c1/{staff}/quiet-hours"


def file_with_quiet_hours() -> CompoundFile:
    c1 = full_registry().compounds[0]
    rest = QuietHours(start="21:00", end="06:00")
    staff = [
        s.model_copy(update={"quiet_hours": rest}) if s.id == "s-care" else s for s in c1.staff
    ]
    return CompoundFile(compounds=[c1.model_copy(update={"staff": staff})])


def resting(conn: Conn, staff: str) -> datetime | None:
    return registry.quiet_until(conn, "c1", [staff], NIGHT).get(staff)


def test_who_may_set_quiet_hours_and_which_apply(
    client: httpx.Client, linked: dict[str, H], conn: Conn, api_db: str
) -> None:
    registry.load(conn, file_with_quiet_hours(), actor="test", now=datetime.now(UTC))
    shown = client.get(quiet_url("s-care"), headers=linked["u-care"])
    assert shown.status_code == 200, shown.text
    assert shown.json()["source"] == "file"
    assert shown.json()["quiet_hours"] == {"start": "21:00", "end": "06:00"}
    assert resting(conn, "s-care") == datetime(2024, 3, 1, 22, 0, tzinfo=UTC)  # 06:00 CST

    own = client.put(
        quiet_url("s-care"),
        json={"quiet_hours": {"start": "23:00", "end": "07:00"}},
        headers=linked["u-care"],
    )
    assert own.status_code == 200, own.text
    assert own.json() == {
        "compound": "c1",
        "staff_id": "s-care",
        "source": "api",
        "quiet_hours": {"start": "23:00", "end": "07:00"},
    }
    assert resting(conn, "s-care") == datetime(2024, 3, 1, 23, 0, tzinfo=UTC)  # 07:00 CST

    other = client.put(quiet_url("s-care"), json={"quiet_hours": None}, headers=linked["u-cadre"])
    assert other.status_code == 403
    assert "only their own" in other.json()["detail"]
    assert client.get(quiet_url("s-care"), headers=linked["u-cadre"]).status_code == 403

    # a reload of the file leaves the API's alone
    registry.load(conn, file_with_quiet_hours(), actor="test", now=datetime.now(UTC))
    assert client.get(quiet_url("s-care"), headers=linked["admin"]).json()["source"] == "api"

    none = client.put(quiet_url("s-care"), json={"quiet_hours": None}, headers=linked["admin"])
    assert none.json()["source"] == "api"
    assert none.json()["quiet_hours"] is None
    assert resting(conn, "s-care") is None  # none at all, whatever the file says

    back = client.delete(quiet_url("s-care"), headers=linked["admin"])
    assert back.status_code == 200
    assert back.json()["source"] == "file"
    assert resting(conn, "s-care") == datetime(2024, 3, 1, 22, 0, tzinfo=UTC)

    bad = client.put(
        quiet_url("s-care"),
        json={"quiet_hours": {"start": "25:00", "end": "07:00"}},
        headers=linked["admin"],
    )
    assert bad.status_code == 422
    missing = client.put(quiet_url("s-nobody"), json={"quiet_hours": None}, headers=linked["admin"])
    assert missing.status_code == 404

    assert [a for a, _, _ in audited(conn, "write_staff_quiet_hours")] == [
        "u-care",
        "admin",
        "admin",
    ]
    assert len(audited(conn, "read_staff_quiet_hours")) == 2
    changes = conn.execute(
        "SELECT actor FROM registry_changes WHERE entity = 'staff_quiet_hours'"
        " AND actor <> 'test' ORDER BY id"
    ).fetchall()
    assert [a for (a,) in changes] == ["u-care", "admin", "admin"]
