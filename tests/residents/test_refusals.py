"""Hostile input to the resident side: each refused with a reason, nothing stored.

Photos that are no photos (text, a truncated JPEG, a GIF), too many bytes, a
decompression bomb (a PNG header claiming 2.5 billion pixels in a few hundred bytes);
reports into another household; case ids that are not yours (404, like ids that do
not exist); code brute force per number and per client; tokens of the wrong kind."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.conftest import bearer, login
from tests.notify.conftest import Mailbox
from tests.residents.conftest import (
    PHONE_A,
    PHONE_B,
    Conn,
    SignIn,
    code_from,
    jpeg,
    wait_mail,
)

REPORTS = "/api/v1/residents/me/reports"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height and whose data is a few bytes: a bomb
    if anyone decoded it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def image_bytes(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 0)).save(out, format=kind)
    return out.getvalue()


def _stored(conn: Conn) -> tuple[int, int]:
    cases = conn.execute("SELECT count(*) FROM cases").fetchone()
    photos = conn.execute("SELECT count(*) FROM case_photos").fetchone()
    assert cases is not None
    assert photos is not None
    return int(cases[0]), int(photos[0])


@pytest.mark.parametrize(
    ("name", "data", "status", "reason"),
    [
        ("notes.txt", b"this is not a picture at all", 422, "not a JPEG or PNG"),
        ("cut.jpg", jpeg()[:600], 422, "broken or truncated"),
        ("anim.gif", image_bytes("GIF"), 422, "not a JPEG or PNG"),
        ("bomb.png", png_header_only(50_000, 50_000), 422, "too many pixels"),
        ("wide.png", png_header_only(10_000, 10_000), 422, "pixels"),
        ("tall.png", png_header_only(20, 13_000), 422, "more than a photo"),
        ("huge.jpg", jpeg() + b"\x00" * (10 * 1024 * 1024), 413, "more than 10 MB"),
        ("empty.jpg", b"", 422, "empty"),
    ],
)
def test_what_is_not_a_photo_is_refused_and_nothing_is_stored(
    client: httpx.Client,
    confirmed: Callable[[str, str], dict[str, str]],
    conn: Conn,
    name: str,
    data: bytes,
    status: int,
    reason: str,
) -> None:
    me = confirmed(PHONE_A, "1-1-101")
    refused = client.post(
        REPORTS,
        data={"category": "repair", "description": "broken door", "where": "flat"},
        files=[
            ("photos", ("ok.jpg", jpeg(), "image/jpeg")),
            ("photos", (name, data, "image/jpeg")),
        ],
        headers=me,
    )
    assert refused.status_code == status, refused.text
    assert refused.json()["detail"].startswith("photo 2: ")
    assert reason in refused.json()["detail"]
    assert _stored(conn) == (0, 0)


def test_four_photos_are_refused(
    client: httpx.Client, confirmed: Callable[[str, str], dict[str, str]], conn: Conn
) -> None:
    me = confirmed(PHONE_A, "1-1-101")
    refused = client.post(
        REPORTS,
        data={"category": "repair", "description": "broken door", "where": "flat"},
        files=[("photos", (f"{n}.jpg", jpeg(), "image/jpeg")) for n in range(4)],
        headers=me,
    )
    assert refused.status_code == 422, refused.text
    assert "at most 3 photos" in refused.json()["detail"]
    assert _stored(conn) == (0, 0)


def test_a_report_into_another_household_is_refused(
    client: httpx.Client, confirmed: Callable[[str, str], dict[str, str]], conn: Conn
) -> None:
    me = confirmed(PHONE_A, "1-1-101")
    for where, place, status in (
        ("flat", "3-2-301", 403),  # a neighbour's flat
        ("building", "9", 422),  # no such building
        ("point", "1.5,0.2", 422),  # off the plan
        ("text", "", 422),
    ):
        refused = client.post(
            REPORTS,
            data={"category": "repair", "description": "x", "where": where, "place": place},
            headers=me,
        )
        assert refused.status_code == status, (where, refused.text)
    other_compound = client.post(
        REPORTS,
        data={
            "category": "repair",
            "description": "x",
            "where": "text",
            "place": "gate",
            "compound": "c2",
        },
        headers=me,
    )
    # A confirmed resident reports into their own compound, whatever the form says.
    assert other_compound.status_code == 201, other_compound.text
    assert (
        client.get(
            f"/api/v1/residents/me/cases/{other_compound.json()['id']}", headers=me
        ).status_code
        == 200
    )
    case = conn.execute(
        "SELECT compound_id FROM cases WHERE id = %s", (other_compound.json()["id"],)
    ).fetchone()
    assert case == ("c1",)
    refused_category = client.post(
        REPORTS,
        data={"category": "public_affairs", "description": "a lift", "where": "flat"},
        headers=me,
    )
    assert refused_category.status_code == 422
    assert "not open to residents" in refused_category.json()["detail"]
    claim = client.post(
        "/api/v1/residents/me/household", json={"compound": "c1", "flat": "9-9-999"}, headers=me
    )
    assert claim.status_code == 422, claim.text


def test_cases_not_yours_are_404_like_cases_that_do_not_exist(
    client: httpx.Client,
    admin: dict[str, str],
    confirmed: Callable[[str, str], dict[str, str]],
    sign_in: SignIn,
) -> None:
    a = confirmed(PHONE_A, "1-1-101")
    mine = client.post(
        REPORTS,
        data={"category": "repair", "description": "door", "where": "flat"},
        files=[("photos", ("d.jpg", jpeg(), "image/jpeg"))],
        headers=a,
    ).json()["id"]
    staff_case = client.post(
        "/api/v1/cases",
        json={
            "compound": "c1",
            "category": "repair",
            "description": "patrol",
            "reporter": "admin",
            "source": "patrol",
        },
        headers=admin,
    ).json()["id"]
    b = confirmed(PHONE_B, "3-2-301")
    answers = []
    for case_id in (mine, staff_case, 999_999):
        for path in ("", "/photos/1"):
            got = client.get(f"/api/v1/residents/me/cases/{case_id}{path}", headers=b)
            answers.append((got.status_code, got.json()["detail"].replace(str(case_id), "N")))
        rated = client.post(
            f"/api/v1/residents/me/cases/{case_id}/rating", json={"rating": 1}, headers=b
        )
        reopened = client.post(
            f"/api/v1/residents/me/cases/{case_id}/reopen", json={"reason": "x"}, headers=b
        )
        assert (rated.status_code, reopened.status_code) == (404, 404)
    assert {code for code, _ in answers} == {404}
    # The same words for someone else's case, a staff case and no case at all.
    assert len({d for _, d in answers[0::2]}) == 1
    assert client.get("/api/v1/residents/me/cases", headers=b).json()["count"] == 0
    # A housemate sees the household's reports but does not rate them.
    housemate = confirmed("+8613800000003", "1-1-101")
    seen = client.get(f"/api/v1/residents/me/cases/{mine}", headers=housemate)
    assert seen.status_code == 200
    assert seen.json()["mine"] is False


def test_staff_routes_refuse_resident_tokens_and_back(
    client: httpx.Client, admin: dict[str, str], sign_in: SignIn
) -> None:
    me = sign_in(PHONE_A)
    spec: dict[str, Any] = client.get("/openapi.json").json()
    checked = 0
    for path, methods in spec["paths"].items():
        if not path.startswith("/api/v1/") or "get" not in methods:
            continue
        if path.startswith(("/api/v1/residents/me", "/api/v1/residents/auth")):
            continue
        concrete = path.replace("{", "").replace("}", "")  # any value: refused before use
        got = client.get(concrete, headers=me)
        assert got.status_code == 401, (path, got.status_code, got.text)
        checked += 1
    assert checked > 20
    for path in ("/api/v1/residents/me", "/api/v1/residents/me/cases"):
        assert client.get(path, headers=admin).status_code == 401
    assert client.get("/api/v1/residents/links?compound=c1", headers=me).status_code == 401
    # Signing out ends every sign-in of the account: the token dies.
    assert client.post("/api/v1/residents/me/sign-out", headers=me).status_code == 204
    ended = client.get("/api/v1/residents/me", headers=me)
    assert ended.status_code == 401
    assert "sign in again" in ended.json()["detail"]


def test_code_brute_force_is_throttled_per_number_and_per_client(
    client: httpx.Client, mailbox: Mailbox
) -> None:
    def check(phone: str, code: str) -> httpx.Response:
        return client.post("/api/v1/residents/auth/token", json={"phone": phone, "code": code})

    assert client.post("/api/v1/residents/auth/code", json={"phone": PHONE_A}).status_code == 202
    right = code_from(wait_mail(mailbox, PHONE_A, 1))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    again = client.post("/api/v1/residents/auth/code", json={"phone": PHONE_A})
    assert again.status_code == 429
    assert "a moment ago" in again.json()["detail"]
    answers = [check(PHONE_A, wrong) for _ in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    assert "void" in answers[-1].json()["detail"]
    # The code was voided by the guesses: even the right one no longer signs in.
    assert check(PHONE_A, right).status_code == 401
    # Per number: 20 checks an hour whatever the codes.
    statuses = [check(PHONE_A, "000000").status_code for _ in range(20)]
    assert statuses[:14] == [401] * 14
    assert statuses[-1] == 429
    throttled = check(PHONE_A, "000000")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "this number" in throttled.json()["detail"]
    # Per client: a script walking other numbers is stopped too (60 an hour).
    walked = [check(f"+86139000{n:05d}", "123456").status_code for n in range(40)]
    assert walked[-1] == 429, walked
    blocked = check("+8613999999999", "123456")
    assert blocked.status_code == 429
    assert "this address" in blocked.json()["detail"]


def test_anonymous_reports_follow_the_compound_policy(
    client: httpx.Client, admin: dict[str, str], sign_in: SignIn, conn: Conn
) -> None:
    me = sign_in(PHONE_A)  # no household
    anon = client.post(
        REPORTS,
        data={
            "category": "environment",
            "description": "rubbish by gate",
            "where": "text",
            "place": "north gate",
            "compound": "c1",
            "callback": "13800000009",
        },
        headers=me,
    )
    assert anon.status_code == 201, anon.text
    case_id = anon.json()["id"]
    staff = client.get(f"/api/v1/residents/reports/{case_id}", headers=admin).json()
    assert (staff["anonymous"], staff["callback"]) == (True, "+8613800000009")
    reporter = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()["reporter"]
    assert reporter.startswith("anon-")
    nope = client.post(
        REPORTS,
        data={
            "category": "environment",
            "description": "x",
            "where": "text",
            "place": "y",
            "compound": "c2",
        },
        headers=me,
    )
    assert nope.status_code == 422
    assert "no compound" in nope.json()["detail"] or "anonymous" in nope.json()["detail"]


def test_a_grid_worker_confirms_only_households_in_their_grids(
    client: httpx.Client, admin: dict[str, str], sign_in: SignIn
) -> None:
    body = {
        "username": "gw2",
        "password": "a-long-enough-password",
        "role": "grid_worker",
        "grids": ["c1/g2"],
    }
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    worker = bearer(login(client, "gw2", "a-long-enough-password"))
    me = sign_in(PHONE_A)
    client.post(
        "/api/v1/residents/me/household", json={"compound": "c1", "flat": "1-1-101"}, headers=me
    )
    (link,) = client.get("/api/v1/residents/links?compound=c1", headers=admin).json()["data"]
    assert client.get("/api/v1/residents/links?compound=c1", headers=worker).json()["count"] == 0
    refused = client.post(
        f"/api/v1/residents/links/{link['resident_id']}", json={"confirm": True}, headers=worker
    )
    assert refused.status_code == 404
    assert client.get("/api/v1/residents/me", headers=me).json()["household"]["confirmed"] is False
