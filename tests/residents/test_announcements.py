"""A resident's announcements through the API on the real app: staff publish notices to
the compound, a building, a flat and a tag; each confirmed resident sees exactly the
current ones that reach their household, newest first, marked read or not; a read is
counted once per household in the counter staff see; anything else is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.residents.conftest import PHONE_A, PHONE_B, SignIn

V1 = "/api/v1"
MINE = f"{V1}/residents/me/announcements"
ELDER = "3-2-301"  # elderly, empty nest (building 3)
RENTED = "1-1-101"  # rented (building 1)
PHONE_C = "+8613800000003"
H = dict[str, str]


def _publish(client: httpx.Client, admin: H, title: str, age_min: int, **target: Any) -> int:
    now = datetime.now(UTC)
    made = client.post(
        f"{V1}/announcements",
        json={
            "compound": "c1",
            "title": title,
            "body": f"{title}: the details.",
            "starts_at": (now - timedelta(minutes=age_min)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            **target,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _titles(client: httpx.Client, me: H) -> list[str]:
    answer = client.get(MINE, headers=me)
    assert answer.status_code == 200, answer.text
    return [a["title"] for a in answer.json()["data"]]


def _staff_reads(client: httpx.Client, admin: H, announcement_id: int) -> int:
    listed = client.get(f"{V1}/announcements", params={"compound": "c1"}, headers=admin).json()
    (found,) = [a for a in listed["data"] if a["id"] == announcement_id]
    return int(found["reads"])


def test_each_household_sees_only_what_reaches_it(
    client: httpx.Client, admin: H, confirmed: Callable[[str, str], H]
) -> None:
    _publish(client, admin, "compound", 50)
    _publish(client, admin, "building 3", 40, buildings=["3"])
    _publish(client, admin, "elderly", 30, tag="elderly")
    _publish(client, admin, "rented flat", 20, flats=[RENTED], tag="rented")
    _publish(client, admin, "building 1", 10, buildings=["1"])
    withdrawn = _publish(client, admin, "withdrawn", 5)
    gone = client.post(f"{V1}/announcements/c1/{withdrawn}/withdraw", headers=admin)
    assert gone.status_code == 200, gone.text
    now = datetime.now(UTC)
    later = client.post(
        f"{V1}/announcements",
        json={
            "compound": "c1",
            "title": "tomorrow",
            "body": "not yet",
            "starts_at": (now + timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
        },
        headers=admin,
    )
    assert later.status_code == 201, later.text

    elder = confirmed(PHONE_A, ELDER)
    tenant = confirmed(PHONE_B, RENTED)
    # Newest first; another household's building, flat and tag are not shown.
    assert _titles(client, elder) == ["elderly", "building 3", "compound"]
    assert _titles(client, tenant) == ["building 1", "rented flat", "compound"]
    answer = client.get(MINE, headers=elder).json()
    assert (answer["flat"], answer["count"], answer["unread"], answer["note"]) == (
        ELDER,
        3,
        3,
        None,
    )
    # Nothing tells the resident how the notice was targeted (the tag) or by whom.
    assert set(answer["data"][0]) == {
        "id",
        "title",
        "body",
        "starts_at",
        "ends_at",
        "published_at",
        "read",
    }


def test_a_read_is_counted_once_per_household(
    client: httpx.Client, admin: H, confirmed: Callable[[str, str], H]
) -> None:
    notice = _publish(client, admin, "lift under repair", 5, buildings=["3"])
    elder = confirmed(PHONE_A, ELDER)
    daughter = confirmed(PHONE_C, ELDER)  # a second resident of the same household
    (before,) = client.get(MINE, headers=elder).json()["data"]
    assert before["read"] is False

    first = client.post(f"{MINE}/{notice}/read", headers=elder)
    assert first.status_code == 200, first.text
    assert (first.json()["first"], first.json()["announcement"]["read"]) == (True, True)
    again = client.post(f"{MINE}/{notice}/read", headers=elder)
    other = client.post(f"{MINE}/{notice}/read", headers=daughter)
    assert (again.json()["first"], other.json()["first"]) == (False, False)
    assert _staff_reads(client, admin, notice) == 1
    # Read for the whole household: the other resident's page shows it read too.
    shown = client.get(MINE, headers=daughter).json()
    assert (shown["data"][0]["read"], shown["unread"]) == (True, 0)


def test_another_households_notice_cannot_be_read_or_probed(
    client: httpx.Client, admin: H, confirmed: Callable[[str, str], H]
) -> None:
    elderly = _publish(client, admin, "elderly only", 5, tag="elderly")
    tenant = confirmed(PHONE_B, RENTED)
    refused = client.post(f"{MINE}/{elderly}/read", headers=tenant)
    absent = client.post(f"{MINE}/{elderly + 1000}/read", headers=tenant)
    assert (refused.status_code, absent.status_code) == (404, 404)
    assert refused.json()["detail"] == absent.json()["detail"].replace(
        str(elderly + 1000), str(elderly)
    )
    assert _staff_reads(client, admin, elderly) == 0
    bad = client.post(f"{MINE}/not-a-number/read", headers=tenant)
    assert bad.status_code == 422


def test_no_confirmed_household_sees_nothing_and_says_why(
    client: httpx.Client, admin: H, sign_in: SignIn
) -> None:
    notice = _publish(client, admin, "compound", 5)
    me = sign_in(PHONE_A)
    alone = client.get(MINE, headers=me).json()
    assert (alone["data"], alone["flat"]) == ([], None)
    assert "not confirmed" in alone["note"]
    asked = client.post(
        f"{V1}/residents/me/household", json={"compound": "c1", "flat": RENTED}, headers=me
    )
    assert asked.status_code == 202, asked.text
    pending = client.get(MINE, headers=me).json()
    assert pending["data"] == []  # claiming a flat is not living there
    read = client.post(f"{MINE}/{notice}/read", headers=me)
    assert read.status_code == 404
    assert "not confirmed" in read.json()["detail"]
    assert _staff_reads(client, admin, notice) == 0


def test_tokens_of_the_other_side_are_refused(
    client: httpx.Client, admin: H, confirmed: Callable[[str, str], H]
) -> None:
    notice = _publish(client, admin, "compound", 5)
    assert client.get(MINE, headers=admin).status_code == 401
    assert client.post(f"{MINE}/{notice}/read", headers=admin).status_code == 401
    assert client.get(MINE).status_code == 401
    resident = confirmed(PHONE_A, ELDER)
    # Nor may a resident use the staff routes to record or list reads.
    staff_read = client.post(
        f"{V1}/announcements/c1/{notice}/reads", json={"flat": ELDER}, headers=resident
    )
    assert staff_read.status_code == 401
    listed = client.get(f"{V1}/announcements", params={"compound": "c1"}, headers=resident)
    assert listed.status_code == 401
    assert _staff_reads(client, admin, notice) == 0
