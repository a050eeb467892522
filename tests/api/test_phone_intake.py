"""A report taken by phone at the desk: its case opens like any report, its history
says it came by phone, and the caller's call-back number stays out of the case (the
history reaches every reader and the live feed): only the roles that work cases read
it, as an anonymous report's, each read audited. And the categories the intake form
offers, with their titles in both languages."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Conn

V1 = "/api/v1"
H = dict[str, str]
CALLER = "138 0013 8000"  # as the desk types it; stored as +8613800138000
CALL = {
    "compound": "c1",
    "category": "repair",
    "description": "Water leaking from the ceiling of the stairwell",
    "location": "1-1-101",
    "channel": "phone",
    "callback": CALLER,
}


def test_a_phone_call_opens_a_case_marked_as_by_phone(
    client: httpx.Client, headers: dict[str, H], conn: Conn
) -> None:
    made = client.post(f"{V1}/cases", json=CALL, headers=headers["property_staff"])
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    assert made.json()["reporter"] == "caller"  # the caller gave no resident ref

    viewed = client.get(f"{V1}/cases/{case_id}", headers=headers["viewer"])
    assert viewed.status_code == 200, viewed.text
    opened = viewed.json()["history"][0]
    assert (opened["transition"], opened["detail"]["channel"]) == ("opened", "phone")
    assert "13800138000" not in viewed.text  # the number is nowhere in the case

    assert (
        client.get(f"{V1}/residents/reports/{case_id}", headers=headers["viewer"]).status_code
        == 403
    )
    read = client.get(f"{V1}/residents/reports/{case_id}", headers=headers["admin"])
    assert read.status_code == 200, read.text
    assert read.json()["callback"] == "+8613800138000"
    audited = conn.execute(
        "SELECT actor, subject FROM api_audit WHERE action = 'read_resident_callback'"
    ).fetchall()
    assert audited == [("admin", f"case {case_id}")]


def test_a_desk_report_is_marked_as_taken_at_the_desk(
    client: httpx.Client, headers: dict[str, H]
) -> None:
    body: dict[str, Any] = {**CALL, "channel": "desk", "reporter": "r-1"}
    body.pop("callback")
    made = client.post(f"{V1}/cases", json=body, headers=headers["admin"])
    assert made.status_code == 201, made.text
    detail = client.get(f"{V1}/cases/{made.json()['id']}", headers=headers["admin"]).json()
    assert detail["history"][0]["detail"]["channel"] == "desk"


def test_what_a_phone_intake_refuses_says_why(client: httpx.Client, headers: dict[str, H]) -> None:
    admin = headers["admin"]
    cases_before = client.get(f"{V1}/cases", headers=admin).json()["count"]
    for body, reason in (
        ({**CALL, "callback": "call me"}, "not a phone number"),
        ({**CALL, "channel": "desk", "reporter": "r-1"}, "comes with a phone call"),
        ({**CALL, "source": "patrol"}, "a phone call is a resident's report"),
        ({k: v for k, v in CALL.items() if k not in ("channel", "callback")}, "reporter"),
    ):
        refused = client.post(f"{V1}/cases", json=body, headers=admin)
        assert refused.status_code == 422, refused.text
        assert reason in refused.text, refused.text
    assert client.get(f"{V1}/cases", headers=admin).json()["count"] == cases_before


def test_the_categories_have_titles_in_both_languages(
    client: httpx.Client, headers: dict[str, H]
) -> None:
    listed = client.get(f"{V1}/cases/categories", headers=headers["viewer"])
    assert listed.status_code == 200, listed.text
    found = {c["id"]: c["title"] for c in listed.json()["data"]}
    assert found["repair"] == {"zh": "报修", "en": "Repair"}
    assert found["neighbour_dispute"] == {"zh": "邻里纠纷", "en": "Neighbour dispute"}
    assert len(found) == listed.json()["count"] == 8


def test_a_failed_call_back_write_leaves_no_case_either(
    client: httpx.Client, headers: dict[str, H], conn: Conn
) -> None:
    """The case and its call-back number are one transaction: when the second write
    fails, the desk is told, and no case without its number is left behind."""
    admin = headers["admin"]
    cases_before = client.get(f"{V1}/cases", headers=admin).json()["count"]
    conn.execute(
        "CREATE FUNCTION refuse_intake() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'disk full' USING ERRCODE = '53100'; END $$"
    )
    conn.execute(
        "CREATE TRIGGER refuse_intake BEFORE INSERT ON phone_intakes"
        " FOR EACH ROW EXECUTE FUNCTION refuse_intake()"
    )
    refused = client.post(f"{V1}/cases", json=CALL, headers=admin)
    assert refused.status_code == 503, refused.text
    assert client.get(f"{V1}/cases", headers=admin).json()["count"] == cases_before
    assert conn.execute("SELECT count(*) FROM phone_intakes").fetchone() == (0,)

    conn.execute("DROP TRIGGER refuse_intake ON phone_intakes")
    made = client.post(f"{V1}/cases", json=CALL, headers=admin)
    assert made.status_code == 201, made.text
    assert client.get(f"{V1}/cases", headers=admin).json()["count"] == cases_before + 1
