"""Announcements on a real database: the audience (compound, buildings, households, by
tag), the window, read receipts counted once, and delivery to the consenting
households' emergency contacts when the window opens, through a fake `notify.Deliver`
(the channels are notify's, tested there)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import announce
import notify
import registry
from domain import EmergencyContact, Household, HouseholdTag, Language
from tests.factories import compound_file

Conn = psycopg.Connection[tuple[Any, ...]]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

HOUSEHOLDS = [
    Household(
        flat="3-2-301",
        tags=[HouseholdTag.ELDERLY, HouseholdTag.EMPTY_NEST],
        consent=True,
        emergency_contacts=[
            EmergencyContact(name="Daughter", contact="mailto://d@example.org"),
            EmergencyContact(
                name="Neighbour", contact="json://neighbour.example.org/in", language=Language.EN
            ),
        ],
    ),
    # Elderly too, but no consent: the registry keeps no contacts, nothing is sent.
    Household(
        flat="3-1-101",
        tags=[HouseholdTag.ELDERLY],
        emergency_contacts=[EmergencyContact(name="Son", contact="mailto://s@example.org")],
    ),
    Household(
        flat="1-1-101",
        tags=[HouseholdTag.RENTED],
        consent=True,
        emergency_contacts=[EmergencyContact(name="Tenant", contact="mailto://t@example.org")],
    ),
]


@pytest.fixture
def conn(schema_url: str) -> Iterator[Conn]:
    with psycopg.connect(schema_url, autocommit=True) as c:
        registry.load(c, compound_file(households=HOUSEHOLDS), actor="test", now=T0)
        yield c


class Outbox:
    """A `notify.Deliver` that keeps what it was given; `fail` makes it raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, notify.Message]] = []
        self.fail: notify.DeliveryFailed | None = None

    def __call__(self, url: str, message: notify.Message) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((url, message))


def draft(**changes: Any) -> announce.Draft:
    values: dict[str, Any] = {
        "compound": "c1",
        "title": "Water cut tomorrow / 明天停水",
        "body": "No water in building 3 from 9:00 to 12:00.",
        "starts_at": T0 + timedelta(hours=1),
        "ends_at": T0 + timedelta(days=1),
    }
    return announce.Draft(**{**values, **changes})


def test_the_audience_is_compound_buildings_or_households_narrowed_by_tag(conn: Conn) -> None:
    whole = announce.publish(conn, draft(), actor="u", now=T0)
    assert whole.households == 3
    building = announce.publish(conn, draft(buildings=("3",)), actor="u", now=T0)
    assert announce.audience(conn, building) == ["3-1-101", "3-2-301"]
    elderly = announce.publish(conn, draft(tag=HouseholdTag.ELDERLY), actor="u", now=T0)
    assert announce.audience(conn, elderly) == ["3-1-101", "3-2-301"]
    one = announce.publish(conn, draft(flats=("1-1-101",), buildings=("3",)), actor="u", now=T0)
    assert announce.audience(conn, one) == ["1-1-101", "3-1-101", "3-2-301"]
    rented_in_3 = announce.publish(
        conn, draft(buildings=("3",), tag=HouseholdTag.RENTED), actor="u", now=T0
    )
    assert rented_in_3.households == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": " "}, "title"),
        ({"ends_at": T0}, "ends_at"),
        ({"ends_at": T0 + timedelta(days=200)}, "ends_at"),
        ({"starts_at": datetime(2026, 12, 1, 8, 0)}, "starts_at"),
    ],
)
def test_a_draft_that_cannot_be_is_refused_with_its_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(announce.InvalidAnnouncement) as refused:
        draft(**changes)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"compound": "nowhere"}, "compound"),
        ({"buildings": ("9",)}, "buildings"),
        ({"flats": ("3-2-302",)}, "flats"),  # a flat, but no household lives there
    ],
)
def test_targets_the_registry_does_not_know_are_refused(
    conn: Conn, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(announce.InvalidAnnouncement) as refused:
        announce.publish(conn, draft(**changes), actor="u", now=T0)
    assert refused.value.field == field
    assert announce.listed(conn, "c1", now=T0, current=False, limit=10, offset=0)[1] == 0


def test_current_ones_per_household_and_reads_counted_once(conn: Conn) -> None:
    later = T0 + timedelta(hours=2)
    mine = announce.publish(conn, draft(tag=HouseholdTag.ELDERLY), actor="u", now=T0)
    announce.publish(conn, draft(flats=("1-1-101",)), actor="u", now=T0)
    assert announce.for_household(conn, "c1", "3-2-301", now=T0) == []  # not open yet
    assert [a.id for a in announce.for_household(conn, "c1", "3-2-301", now=later)] == [mine.id]

    read, first = announce.record_read(conn, "c1", mine.id, "3-2-301", actor="u", now=later)
    again, second = announce.record_read(conn, "c1", mine.id, "3-2-301", actor="u", now=later)
    assert (read.reads, first, again.reads, second) == (1, True, 1, False)
    with pytest.raises(announce.InvalidAnnouncement, match="audience"):
        announce.record_read(conn, "c1", mine.id, "1-1-101", actor="u", now=later)
    with pytest.raises(announce.AnnouncementNotFound):
        announce.record_read(conn, "c2", mine.id, "3-2-301", actor="u", now=later)

    announce.withdraw(conn, "c1", mine.id, now=later)
    assert announce.for_household(conn, "c1", "3-2-301", now=later) == []
    with pytest.raises(announce.InvalidAnnouncement, match="not current"):
        announce.record_read(conn, "c1", mine.id, "3-1-101", actor="u", now=later)


def test_sent_once_to_consenting_households_contacts_when_the_window_opens(conn: Conn) -> None:
    outbox = Outbox()
    published = announce.publish(conn, draft(tag=HouseholdTag.ELDERLY), actor="u", now=T0)
    assert announce.run_once(conn, outbox, T0).planned == 0  # the window is not open
    assert outbox.sent == []

    opened = T0 + timedelta(hours=1)
    done = announce.run_once(conn, outbox, opened)
    assert (done.planned, done.sent) == (2, 2)
    # 3-1-101 is elderly too but gave no consent: the registry has no contact of it.
    assert [u for u, _ in outbox.sent] == [
        "mailto://d@example.org",
        "json://neighbour.example.org/in",
    ]
    message = outbox.sent[1][1]
    assert message.subject == published.title
    assert "From 2026-12-01T09:00+00:00" in message.body  # the English contact's language
    assert "有效期" in outbox.sent[0][1].body
    assert message.document["announcement_id"] == published.id
    assert len({m.idempotency_key for _, m in outbox.sent}) == 2

    assert announce.run_once(conn, outbox, opened + timedelta(minutes=5)).sent == 0
    assert len(outbox.sent) == 2  # never twice
    assert announce.get(conn, "c1", published.id).sent == 2


def test_a_transient_failure_is_retried_and_a_permanent_one_given_up(conn: Conn) -> None:
    outbox = Outbox()
    announce.publish(conn, draft(flats=("3-2-301",)), actor="u", now=T0)
    opened = T0 + timedelta(hours=1)
    outbox.fail = notify.DeliveryFailed("mailto", "relay down")
    first = announce.run_once(conn, outbox, opened)
    assert (first.sent, first.failed, first.retrying) == (0, 0, 2)

    outbox.fail = None
    second = announce.run_once(conn, outbox, opened + timedelta(minutes=1))
    assert second.sent == 2

    other = announce.publish(conn, draft(flats=("1-1-101",)), actor="u", now=T0)
    outbox.fail = notify.DeliveryFailed("mailto", "no such mailbox", permanent=True)
    third = announce.run_once(conn, outbox, opened + timedelta(minutes=2))
    assert third.failed == 1
    assert announce.get(conn, "c1", other.id).failed == 1


def test_a_withdrawn_announcement_is_not_sent(conn: Conn) -> None:
    outbox = Outbox()
    published = announce.publish(conn, draft(), actor="u", now=T0)
    announce.withdraw(conn, "c1", published.id, now=T0)
    announce.run_once(conn, outbox, T0 + timedelta(hours=1))
    assert outbox.sent == []


@pytest.mark.parametrize(
    ("urls", "same"),
    [
        (["mailto://127.0.0.1:2525?to=8613800000001@sms.example.org"], True),
        (["kannel://u:p@sms:13013/13800000001?from=Dayuan"], True),  # without +86
        (["json://relay.example.org/in?to=008613800000001"], True),
        (["mailto://127.0.0.1:2525?to=8613800000002@sms.example.org"], False),
        (["json://relay.example.org:13013/in/0000001"], False),  # too short to be a number
        ([], False),
    ],
)
def test_a_residents_number_is_known_among_contact_urls(urls: list[str], same: bool) -> None:
    assert announce.same_number("+8613800000001", urls) is same


class Residents:
    """A fake `announce.ResidentChannel`: confirmed residents per flat, and what it sent."""

    def __init__(self, confirmed: dict[str, list[announce.ResidentContact]]) -> None:
        self.confirmed = confirmed
        self.sent: list[tuple[str, str, str]] = []  # (phone, subject, key)

    def residents(self, conn: Conn, compound: str, flat: str) -> list[announce.ResidentContact]:
        return list(self.confirmed.get(flat, []))

    def send(self, contact: announce.ResidentContact, subject: str, text: str, *, key: str) -> None:
        self.sent.append((contact.phone, subject, key))


def test_confirmed_residents_are_written_to_once_and_only_while_confirmed(conn: Conn) -> None:
    outbox = Outbox()
    son = announce.ResidentContact(7, "+8613800000007", Language.EN)
    tenant = announce.ResidentContact(8, "+8613800000008", Language.ZH)
    channel = Residents({"3-2-301": [son], "1-1-101": [tenant]})
    published = announce.publish(conn, draft(), actor="u", now=T0)
    opened = T0 + timedelta(hours=1)

    announce.plan(conn, opened, residents=channel)  # three contacts and two residents
    channel.confirmed["1-1-101"] = []  # the tenant's link is ended before it is sent
    done = announce.run_once(conn, outbox, opened, residents=channel)
    assert (done.sent, done.failed) == (4, 1)
    assert channel.sent == [
        ("+8613800000007", published.title, f"announcement-{published.id}-c1-resident-7")
    ]
    assert announce.get(conn, "c1", published.id).failed == 1

    again = announce.run_once(conn, outbox, opened + timedelta(minutes=5), residents=channel)
    assert (again.sent, len(channel.sent)) == (0, 1)  # never twice
