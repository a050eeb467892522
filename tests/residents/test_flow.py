"""A resident's whole loop through the API: sign in with a code read from the mail,
ask to be linked to their flat, an admin confirms, report with a photo whose EXIF
carries a GPS position (gone when read back), staff handle the case, the resident is
told the outcome by mail, sees each step in plain words, rates it and reopens it."""

from __future__ import annotations

import io
from collections.abc import Callable

import httpx
from PIL import Image

from tests.notify.conftest import Mailbox
from tests.residents.conftest import (
    PHONE_A,
    SignIn,
    body_of,
    gps_exif,
    jpeg,
    wait_mail,
)

FLAT = "1-1-101"


def _act(
    client: httpx.Client, admin: dict[str, str], case_id: int, action: str, **body: object
) -> dict[str, object]:
    case = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()
    done = client.post(
        f"/api/v1/cases/{case_id}/{action}",
        json={"version": case["version"], **body},
        headers=admin,
    )
    assert done.status_code == 200, done.text
    return dict(done.json())


def test_report_with_photo_status_outcome_rating_reopen(
    client: httpx.Client,
    admin: dict[str, str],
    sign_in: SignIn,
    mailbox: Mailbox,
) -> None:
    me = sign_in(PHONE_A)
    who = client.get("/api/v1/residents/me", headers=me).json()
    assert who["household"] is None
    asked = client.post(
        "/api/v1/residents/me/household", json={"compound": "c1", "flat": FLAT}, headers=me
    ).json()
    assert asked["household"] == {"compound": "c1", "flat": FLAT, "confirmed": False}
    # Before the confirmation a report about the flat is refused.
    early = client.post(
        "/api/v1/residents/me/reports",
        data={"category": "repair", "description": "tap drips", "where": "flat"},
        headers=me,
    )
    assert early.status_code == 422, early.text
    assert "confirmed household" in early.json()["detail"]

    pending = client.get("/api/v1/residents/links", params={"compound": "c1"}, headers=admin)
    (link,) = pending.json()["data"]
    assert (link["phone"], link["flat"], link["confirmed_at"]) == (PHONE_A, FLAT, None)
    confirmed = client.post(
        f"/api/v1/residents/links/{link['resident_id']}", json={"confirm": True}, headers=admin
    )
    assert confirmed.json()["confirmed_at"] is not None
    audit = client.get("/api/v1/audit", params={"action": "read_resident_links"}, headers=admin)
    assert audit.json()["count"] == 1

    photo = jpeg((1200, 900), exif=gps_exif())
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the upload has GPS
    reported = client.post(
        "/api/v1/residents/me/reports",
        data={"category": "repair", "description": "Stairwell light out", "where": "flat"},
        files=[("photos", ("lamp.jpg", photo, "image/jpeg"))],
        headers=me,
    )
    assert reported.status_code == 201, reported.text
    case = reported.json()
    case_id = case["id"]
    assert (case["location"], case["photos"], case["mine"]) == (FLAT, 1, True)
    assert [s["step"] for s in case["steps"]] == ["opened", "dispatched"]
    assert case["steps"][1]["words"]["en"] == "Passed to the property company"

    # The case is a case like any other: staff see it dispatched, with its deadlines.
    staff_view = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()
    assert (staff_view["source"], staff_view["state"]) == ("resident", "dispatched")
    assert staff_view["reporter"].startswith("res-")
    assert PHONE_A not in str(staff_view)

    for reader, url in (
        (me, f"/api/v1/residents/me/cases/{case_id}/photos/1"),
        (admin, f"/api/v1/residents/reports/{case_id}/photos/1"),
    ):
        got = client.get(url, headers=reader)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "image/jpeg"
        stored = Image.open(io.BytesIO(got.content))
        assert stored.size == (1200, 900)
        assert dict(stored.getexif()) == {}  # no GPS, no make, no serial
        assert b"SERIAL-12345" not in got.content
        assert b"TestCam" not in got.content

    _act(client, admin, case_id, "acknowledge")
    _act(client, admin, case_id, "start")
    _act(client, admin, case_id, "resolve", note="bulb replaced")

    told = wait_mail(mailbox, PHONE_A, 2)  # the code, then the outcome
    assert "bulb replaced" in body_of(told)
    assert f"report {case_id} is done" in str(told["Subject"])

    # Staff may no longer rate on the resident's behalf, unless from a phone call.
    version = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()["version"]
    refused = client.post(
        f"/api/v1/cases/{case_id}/rate", json={"version": version, "rating": 5}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert "phone call" in refused.json()["detail"]

    mine = client.get(f"/api/v1/residents/me/cases/{case_id}", headers=me).json()
    assert mine["state_words"] == {"zh": "已处理", "en": "Done"}
    assert mine["steps"][-2]["words"]["en"] == "Done: bulb replaced"
    assert mine["steps"][-1]["words"]["en"] == "You were told the outcome"
    assert mine["may_rate"]
    assert mine["may_reopen_until"] is not None

    rated = client.post(
        f"/api/v1/residents/me/cases/{case_id}/rating",
        json={"rating": 4, "comment": "quick"},
        headers=me,
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == 4
    history = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()["history"]
    rating = next(e for e in history if e["transition"] == "rated")
    assert rating["actor"] == f"resident:{staff_view['reporter']}"
    assert rating["detail"] == {"rating": 4, "comment": "quick", "by_phone": False}

    reopened = client.post(
        f"/api/v1/residents/me/cases/{case_id}/reopen",
        json={"reason": "dark again"},
        headers=me,
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["state"] == "reopened"


def test_staff_record_a_phone_rating_marked_as_such(
    client: httpx.Client,
    admin: dict[str, str],
    confirmed: Callable[[str, str], dict[str, str]],
) -> None:
    me = confirmed(PHONE_A, FLAT)
    case_id = client.post(
        "/api/v1/residents/me/reports",
        data={
            "category": "noise",
            "description": "Drilling at night",
            "where": "text",
            "place": "courtyard",
        },
        headers=me,
    ).json()["id"]
    _act(client, admin, case_id, "acknowledge")
    _act(client, admin, case_id, "start")
    _act(client, admin, case_id, "resolve", note="talked to the neighbour")
    after = _act(client, admin, case_id, "rate", rating=3, by_phone=True)
    assert after["rating"] == 3
    history = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()["history"]
    rating = next(e for e in history if e["transition"] == "rated")
    assert (rating["actor"], rating["detail"]["by_phone"]) == ("admin", True)
