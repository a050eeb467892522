"""Staff contact points through the API: an administrator sets anyone's, a staff member
their own (the account linked to that staff id), anyone else is refused (403); each
URL must be one a channel understands; reads show scheme and host only; every read and
write is audited; reloading the compound file does not wipe an API edit, and an empty
list hands a person back to the file's contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import registry
from domain import CompoundFile
from tests.api.conftest import PASSWORD, Conn, bearer, full_registry, login

H = dict[str, str]
V1 = "/api/v1"
FILE_MAIL = "mailto://user:filepass@smtp.example.org?to=care@example.org"
OWN_HOOK = "json://hooks.example.org/care"
SMS = "kannel://u:smspass@sms.example.org:13013/+8613800000000"


def contacts_url(staff: str) -> str:
    return f"{V1}/staff/c1/{staff}/contacts"


@pytest.fixture
def linked(client: httpx.Client, admin: H) -> dict[str, H]:
    """Accounts linked to staff members: u-care is s-care, u-cadre is s-cadre2."""
    out = {"admin": admin}
    for name, role, staff_id in (
        ("u-care", "care_responder", "s-care"),
        ("u-cadre", "grid_worker", "s-cadre2"),
    ):
        body = {"username": name, "password": PASSWORD, "role": role, "staff_id": staff_id}
        assert client.post(f"{V1}/users", json=body, headers=admin).status_code == 201
        out[name] = bearer(login(client, name, PASSWORD))
    return out


def with_file_contacts() -> CompoundFile:
    c1 = full_registry().compounds[0]
    staff = [
        s.model_copy(update={"contacts": [FILE_MAIL]}) if s.id == "s-care" else s for s in c1.staff
    ]
    return CompoundFile(compounds=[c1.model_copy(update={"staff": staff})])


def audited(conn: Conn, action: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT actor, subject, detail::text FROM api_audit WHERE action = %s ORDER BY id",
        (action,),
    ).fetchall()


def test_who_may_read_and_set_contact_points(
    client: httpx.Client, linked: dict[str, H], conn: Conn
) -> None:
    admin, own, other = linked["admin"], linked["u-care"], linked["u-cadre"]
    body = {"contacts": [OWN_HOOK, SMS]}

    for h in (own, admin):
        done = client.put(contacts_url("s-care"), json=body, headers=h)
        assert done.status_code == 200, done.text
        assert done.json() == {
            "compound": "c1",
            "staff_id": "s-care",
            "source": "api",
            "channels": ["json://hooks.example.org", "kannel://sms.example.org"],
        }
        assert "smspass" not in done.text
    assert client.get(contacts_url("s-care"), headers=own).json()["source"] == "api"

    refused = client.put(contacts_url("s-care"), json=body, headers=other)
    assert refused.status_code == 403
    assert "only their own" in refused.json()["detail"]
    assert client.get(contacts_url("s-care"), headers=other).status_code == 403
    assert client.put(contacts_url("s-cadre2"), json=body, headers=own).status_code == 403
    assert client.put(contacts_url("s-cadre2"), json=body, headers=other).status_code == 200
    assert client.put(contacts_url("s-nobody"), json=body, headers=admin).status_code == 404

    writes = audited(conn, "write_staff_contacts")
    assert [(a, s) for a, s, _ in writes] == [
        ("u-care", "c1/s-care"),
        ("admin", "c1/s-care"),
        ("u-cadre", "c1/s-cadre2"),
    ]
    assert not any("smspass" in d for _, _, d in writes)
    assert [(a, s) for a, s, _ in audited(conn, "read_staff_contacts")] == [("u-care", "c1/s-care")]
    assert registry.staff_contacts(conn, "c1", ["s-care"]) == {"s-care": [OWN_HOOK, SMS]}
    changes = conn.execute(
        "SELECT actor, after::text FROM registry_changes WHERE entity = 'staff_contacts'"
        " AND actor = 'u-care'"
    ).fetchall()
    assert len(changes) == 2
    assert not any("smspass" in (a or "") for _, a in changes)


def test_a_url_no_channel_understands_is_refused(
    client: httpx.Client, linked: dict[str, H]
) -> None:
    for bad in ("nosuch://x.example.org", "kannel://u:p@sms.example.org:13013", "138-0000-0000"):
        refused = client.put(
            contacts_url("s-care"), json={"contacts": [bad]}, headers=linked["u-care"]
        )
        assert refused.status_code == 422, (bad, refused.text)
    too_many = {"contacts": [OWN_HOOK] * 9}
    assert (
        client.put(contacts_url("s-care"), json=too_many, headers=linked["admin"]).status_code
        == 422
    )


def test_a_reload_keeps_api_contacts_and_an_empty_list_hands_back_to_the_file(
    client: httpx.Client, linked: dict[str, H], conn: Conn
) -> None:
    now = datetime.now(UTC)
    registry.load(conn, with_file_contacts(), actor="test", now=now)
    own = linked["u-care"]
    file_view = client.get(contacts_url("s-care"), headers=own).json()
    assert (file_view["source"], file_view["channels"]) == ("file", ["mailto://smtp.example.org"])

    assert client.put(contacts_url("s-care"), json={"contacts": [OWN_HOOK]}, headers=own).is_success
    registry.load(conn, with_file_contacts(), actor="test", now=now)  # the file again
    assert registry.staff_contacts(conn, "c1", ["s-care"]) == {"s-care": [OWN_HOOK]}

    handed_back = client.put(contacts_url("s-care"), json={"contacts": []}, headers=own)
    assert handed_back.json()["source"] == "file"
    assert registry.staff_contacts(conn, "c1", ["s-care"]) == {"s-care": [FILE_MAIL]}
