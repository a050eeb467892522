"""Announcements through the API on the real app: staff publish (a grid worker within
their grids only), the lifespan's sender delivers to the consenting elderly household's
emergency contact through notify's channels (Apprise's json:// to a real HTTP server)
once the window is open, a household's read is counted once and shown to staff."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

import registry
from api import create_app
from domain import CompoundFile, EmergencyContact, Household, HouseholdTag, Resident
from tests.api.conftest import FakeClock, config_for, full_registry
from tests.fix_mqtt import Broker
from tests.notify.conftest import WAIT_S, Receiver, receiver  # noqa: F401 - the fixture

V1 = "/api/v1"
H = dict[str, str]
ELDER = "3-2-301"  # building 3: the grid worker's (grid g2)


@pytest.fixture
def api_db(db_url: str, receiver: Receiver) -> str:  # noqa: F811 - the fixture
    households = [
        Household(
            flat=ELDER,
            tags=[HouseholdTag.ELDERLY],
            residents=[Resident(ref="r-elder", birth_year=1938)],
            consent=True,
            emergency_contacts=[
                EmergencyContact(name="Daughter", contact=receiver.url("json", "/daughter"))
            ],
        ),
        Household(flat="1-1-101", tags=[HouseholdTag.RENTED]),
    ]
    base = full_registry()
    file = CompoundFile(compounds=[base.compounds[0].model_copy(update={"households": households})])
    with psycopg.connect(db_url, autocommit=True) as conn:
        registry.load(conn, file, actor="test:setup", now=datetime.now(UTC))
    return db_url


@pytest.fixture
def app(api_db: str, broker: Broker, clock: FakeClock) -> FastAPI:
    # The sender looks every 0.2 s: the test waits on the delivery, never on a duration.
    return create_app(config_for(api_db, broker, announce_poll_s=0.2), clock=clock)


def notice(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "compound": "c1",
        "title": "明天停水 Water cut tomorrow",
        "body": "No water from 9:00 to 12:00.",
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "tag": "elderly",
        **changes,
    }


def _listed(client: httpx.Client, h: H) -> list[dict[str, Any]]:
    answer = client.get(f"{V1}/announcements", params={"compound": "c1"}, headers=h)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def test_published_sent_read_and_counted(
    client: httpx.Client,
    headers: dict[str, H],
    receiver: Receiver,  # noqa: F811 - the fixture
) -> None:
    made = client.post(f"{V1}/announcements", json=notice(), headers=headers["property_staff"])
    assert made.status_code == 201, made.text
    published = made.json()
    assert (published["audience"], published["households"], published["current"]) == (
        "compound",
        1,
        True,
    )

    (post,) = receiver.wait_for(1, "/daughter")
    assert "Water cut tomorrow" in post.json()["title"]
    assert "No water" in post.json()["message"]

    mine = client.get(f"{V1}/announcements/c1/households/{ELDER}", headers=headers["viewer"])
    assert [a["id"] for a in mine.json()["data"]] == [published["id"]]
    other = client.get(f"{V1}/announcements/c1/households/1-1-101", headers=headers["viewer"])
    assert other.json()["count"] == 0  # not elderly: not in the audience

    path = f"{V1}/announcements/c1/{published['id']}/reads"
    first = client.post(path, json={"flat": ELDER}, headers=headers["grid_worker"])
    again = client.post(path, json={"flat": ELDER}, headers=headers["admin"])
    assert (first.json()["first"], again.json()["first"]) == (True, False)
    outside = client.post(path, json={"flat": "1-1-101"}, headers=headers["admin"])
    assert outside.status_code == 422
    assert "audience" in outside.json()["detail"]

    (listed,) = _listed(client, headers["viewer"])
    assert (listed["reads"], listed["households"]) == (1, 1)
    # The delivery is recorded once the channel answered: wait for it, then never twice.
    deadline = time.monotonic() + WAIT_S
    while _listed(client, headers["viewer"])[0]["sent"] < 1:
        assert time.monotonic() < deadline, "the delivery was never recorded"
        time.sleep(0.1)
    assert len(receiver.posts) == 1


def test_a_grid_worker_publishes_within_their_grids_only(
    client: httpx.Client, headers: dict[str, H]
) -> None:
    grid = headers["grid_worker"]
    whole = client.post(f"{V1}/announcements", json=notice(), headers=grid)
    assert whole.status_code == 403
    assert "whole compound" in whole.json()["detail"]
    elsewhere = client.post(f"{V1}/announcements", json=notice(buildings=["1"]), headers=grid)
    assert elsewhere.status_code == 403
    assert "outside your grids: 1" in elsewhere.json()["detail"]
    own = client.post(f"{V1}/announcements", json=notice(buildings=["3"]), headers=grid)
    assert own.status_code == 201, own.text
    refused = client.post(f"{V1}/announcements", json=notice(), headers=headers["viewer"])
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"flats": ["3-2-302"]}, "no such household: 3-2-302"),
        ({"buildings": ["9"]}, "not in c1: 9"),
        ({"ends_at": "2020-01-01T00:00:00Z"}, "ends_at: must be after starts_at"),
        ({"compound": "c9"}, "no compound 'c9'"),
    ],
)
def test_what_cannot_be_announced_is_refused_with_the_reason(
    client: httpx.Client, headers: dict[str, H], changes: dict[str, Any], reason: str
) -> None:
    refused = client.post(f"{V1}/announcements", json=notice(**changes), headers=headers["admin"])
    assert refused.status_code == 422, refused.text
    assert reason in refused.json()["detail"]
    assert _listed(client, headers["admin"]) == []


def test_withdrawn_is_no_longer_current(client: httpx.Client, headers: dict[str, H]) -> None:
    future = notice(starts_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    made = client.post(f"{V1}/announcements", json=future, headers=headers["admin"]).json()
    assert made["current"] is False
    gone = client.post(f"{V1}/announcements/c1/{made['id']}/withdraw", headers=headers["admin"])
    assert gone.json()["withdrawn_at"] is not None
    current = client.get(
        f"{V1}/announcements",
        params={"compound": "c1", "current": "true"},
        headers=headers["admin"],
    )
    assert current.json()["count"] == 0
    missing = client.post(f"{V1}/announcements/c1/999/withdraw", headers=headers["admin"])
    assert missing.status_code == 404
