"""A resident's announcements through the API on the real app: staff publish notices to
the compound, a building, a flat and a tag; each confirmed resident sees exactly the
current ones that reach their household, newest first, marked read or not; a read is
counted once per household in the counter staff see; anything else is refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

import registry
from api import create_app
from domain import CompoundFile, EmergencyContact, Household, HouseholdTag
from tests.api.conftest import FakeClock, config_for, full_registry
from tests.fix_mqtt import Broker
from tests.notify.conftest import Mailbox, mail_url
from tests.residents.conftest import PHONE_A, PHONE_B, POLICY, SignIn, body_of, mails_to

V1 = "/api/v1"
MINE = f"{V1}/residents/me/announcements"
ELDER = "3-2-301"  # elderly, empty nest (building 3)
RENTED = "1-1-101"  # rented (building 1)
PHONE_C = "+8613800000003"
H = dict[str, str]
WAIT_S = 30  # for the lifespan's sender to get a notice out


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


PHONE_D = "+8613800000004"
# The elder's own number is also the household's emergency contact: one message, not two.
OWN_NUMBER_CONTACT = f"{PHONE_A.lstrip('+')}@sms.example.org"


class TestThroughTheResidentsChannel:
    """A published notice reaches each confirmed resident of a targeted household in
    their own channel (here the resident channel is mail to <digits>@sms.example.org),
    once, and nobody else."""

    @pytest.fixture
    def api_db(self, db_url: str, mailbox: Mailbox) -> str:
        elder = Household(
            flat=ELDER,
            tags=[HouseholdTag.ELDERLY, HouseholdTag.EMPTY_NEST],
            consent=True,
            emergency_contacts=[
                EmergencyContact(name="Elder", contact=mail_url(mailbox.port, OWN_NUMBER_CONTACT))
            ],
        )
        rented = Household(flat=RENTED, tags=[HouseholdTag.RENTED])
        base = full_registry().compounds[0]
        changed = CompoundFile(compounds=[base.model_copy(update={"households": [elder, rented]})])
        with psycopg.connect(db_url, autocommit=True) as conn:
            registry.load(conn, changed, actor="test:setup", now=datetime.now(UTC))
        return db_url

    @pytest.fixture
    def app(self, api_db: str, broker: Broker, clock: FakeClock, mailbox: Mailbox) -> FastAPI:
        config = config_for(
            api_db,
            broker,
            resident_channel=mail_url(mailbox.port, "{digits}@sms.example.org"),
            resident_outcome_poll_s=0.2,
            announce_poll_s=0.2,
        )
        return create_app(config, clock=clock, policy=POLICY)

    def test_confirmed_residents_get_it_once_and_nobody_else(
        self,
        client: httpx.Client,
        admin: H,
        confirmed: Callable[[str, str], H],
        sign_in: SignIn,
        mailbox: Mailbox,
    ) -> None:
        confirmed(PHONE_A, ELDER)  # also the household's emergency contact
        confirmed(PHONE_C, ELDER)
        confirmed(PHONE_D, RENTED)  # outside building 3
        unconfirmed = sign_in(PHONE_B)
        asked = client.post(
            f"{V1}/residents/me/household",
            json={"compound": "c1", "flat": ELDER},
            headers=unconfirmed,
        )
        assert asked.status_code == 202, asked.text

        lift = _publish(client, admin, "Lift 3 stops on Monday", 1, buildings=["3"])
        _wait_sent(client, admin, lift, 2)  # the emergency contact and PHONE_C
        (to_c,) = _notices(mailbox, PHONE_C, "Lift 3 stops on Monday")
        assert "Lift 3 stops on Monday: the details." in body_of(to_c)
        assert "From " in body_of(to_c)  # the window, in the resident's language (en)
        assert len(_notices(mailbox, PHONE_A, "Lift 3 stops on Monday")) == 1
        assert _notices(mailbox, PHONE_D, "Lift 3 stops on Monday") == []
        assert _notices(mailbox, PHONE_B, "Lift 3 stops on Monday") == []

        # The whole compound: now the other household's resident gets it too.
        water = _publish(client, admin, "Water off on Tuesday", 1)
        _wait_sent(client, admin, water, 3)
        assert len(_notices(mailbox, PHONE_D, "Water off on Tuesday")) == 1
        assert len(_notices(mailbox, PHONE_A, "Water off on Tuesday")) == 1
        assert _notices(mailbox, PHONE_B, "Water off on Tuesday") == []


def _notices(box: Mailbox, phone: str, title: str) -> list[Any]:
    return [m for m in mails_to(box, phone) if str(m["Subject"]) == title]


def _wait_sent(client: httpx.Client, admin: H, announcement_id: int, n: int) -> None:
    """Until the staff's counter shows `n` messages sent (and none failed)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        listed = client.get(f"{V1}/announcements", params={"compound": "c1"}, headers=admin)
        (found,) = [a for a in listed.json()["data"] if a["id"] == announcement_id]
        assert found["failed"] == 0, found
        if found["sent"] >= n:
            assert found["sent"] == n, found
            return
        time.sleep(0.1)
    raise AssertionError(f"announcement {announcement_id}: {found['sent']} sent, not {n}")
