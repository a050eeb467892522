"""Staff contact points in the registry: loaded from the compound file in order, logged
as a diff that names no URL (they may hold passwords), kept out of the compound's
stored document."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import registry
from domain import Staff, StaffRole
from tests.factories import COMPOUND
from tests.notify.conftest import Conn

MAIL = "mailto://user:pa55@smtp.example.org?to=care@example.org"
HOOK = "json://127.0.0.1:9/hook"


def test_contacts_load_in_order_and_their_log_names_no_url(
    conn: Conn, load_contacts: Callable[[dict[str, list[str]]], None]
) -> None:
    load_contacts({"s-care": [MAIL, HOOK]})
    assert registry.staff_contacts(conn, COMPOUND, ["s-care", "s-prop"]) == {
        "s-care": [MAIL, HOOK],
        "s-prop": [],
    }
    load_contacts({"s-care": [HOOK]})
    assert registry.staff_contacts(conn, COMPOUND, ["s-care"]) == {"s-care": [HOOK]}
    logged = conn.execute(
        "SELECT change, before::text, after::text FROM registry_changes"
        " WHERE entity = 'staff_contacts' ORDER BY id"
    ).fetchall()
    assert [c for c, _, _ in logged] == ["added", "added", "changed", "removed"]
    assert not any("pa55" in (b or "") + (a or "") for _, b, a in logged)
    document = conn.execute("SELECT document::text FROM compounds").fetchone()
    assert document is not None
    assert "pa55" not in document[0]
    count = conn.execute("SELECT count(*) FROM registry_changes").fetchone()
    load_contacts({"s-care": [HOOK]})  # the same file again changes nothing
    assert conn.execute("SELECT count(*) FROM registry_changes").fetchone() == count


def test_party_staff_and_grid_team(
    conn: Conn, load_contacts: Callable[[dict[str, list[str]]], None]
) -> None:
    load_contacts({})
    assert registry.party_staff(conn, COMPOUND, "p-care") == ["s-care"]
    assert registry.party_staff(conn, COMPOUND, None) == []
    assert registry.grid_team(conn, COMPOUND, "g1") == ["s-cadre1", "s-worker1", "s-vol1"]


def test_a_contact_must_be_a_url() -> None:
    with pytest.raises(ValueError, match="contacts"):
        Staff(id="s-x", name="X", role=StaffRole.VIEWER, contacts=["138-0000-0000"])
