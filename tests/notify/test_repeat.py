"""Repeat until acknowledged, then climb, and answering from the message: the notifier
driven one pass at a time on a fake clock, deliveries to a real HTTP receiver.

    t = 0     SOS dispatched: s-care, s-cadre2, s-worker2 told      (round 0)
    t = 59 s  nobody answered, not yet due: nothing sent
    t = 61 s  round 1: the three again and s-admin, the next on the list
    ack       any acknowledgement of the case
    t = 122 s nothing sent: the repeats are over
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

import cases
import notify
from tests.cases.conftest import sos
from tests.notify.conftest import Conn, Receiver

pytestmark = pytest.mark.usefixtures("schema_url")

CALLED = ["s-care", "s-cadre2", "s-worker2", "s-admin", "s-cadre1"]
LINK_SECRET = "test-link-secret"


@dataclass
class FakeClock:
    at: datetime

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def links() -> notify.Links:
    return notify.Links("https://dayuan.example.org", LINK_SECRET)


@pytest.fixture
def notifier(
    pool: ConnectionPool,
    clock: FakeClock,
    links: notify.Links,
    receiver: Receiver,
    load_contacts: Callable[[dict[str, list[str]]], None],
) -> notify.Notifier:
    load_contacts({s: [receiver.url("json", f"/{s}")] for s in CALLED})
    return notify.Notifier(
        pool,
        clock=clock,
        deliver=notify.Channels(),
        rate=notify.RateLimit(per_s=1000, burst=1000),
        links=links,
        name="test",
    )


def told(receiver: Receiver) -> list[str]:
    return [p.path.strip("/") for p in receiver.posts]


def link_of(receiver: Receiver, staff: str) -> str:
    post = [p for p in receiver.posts if p.path == f"/{staff}"][-1]
    line = [x for x in post.json()["message"].splitlines() if "/a/" in x][-1]
    return line.rsplit("/a/", 1)[1]


def test_an_unacknowledged_sos_is_repeated_to_the_next_person_until_acknowledged(
    conn: Conn,
    clock: FakeClock,
    notifier: notify.Notifier,
    receiver: Receiver,
    workflow: cases.Workflow,
) -> None:
    case = workflow.intake_alarm(conn, sos()).case
    notifier.run_once()
    assert sorted(told(receiver)) == sorted(CALLED[:3])

    clock.advance(seconds=59)
    notifier.run_once()
    assert len(receiver.posts) == 3  # not due yet

    clock.advance(seconds=2)
    notifier.run_once()
    again = told(receiver)[3:]
    assert sorted(again) == sorted(CALLED[:4])  # everyone again, and the next person
    admin = next(p for p in receiver.posts if p.path == "/s-admin").json()
    assert admin["title"].startswith("【大院】第1次提醒")  # "repeat 1, nobody acknowledged"
    assert "已通知" in admin["message"]  # told:
    assert "s-care, s-cadre2, s-worker2, s-admin" in admin["message"]
    rounds = {n.round for n in notify.notifications_for_case(conn, case.id)}
    assert rounds == {0, 1}

    clock.advance(seconds=61)
    notifier.run_once()
    assert "s-cadre1" in told(receiver)[7:]  # round 2 climbs one further

    current = cases.get_case(conn, case.id)
    workflow.acknowledge(conn, case.id, actor="desk", version=current.version)
    before = len(receiver.posts)
    for _ in range(3):
        clock.advance(seconds=61)
        notifier.run_once()
    assert len(receiver.posts) == before
    finished = conn.execute(
        "SELECT finished_why FROM notify_repeats WHERE case_id = %s", (case.id,)
    ).fetchone()
    assert finished == ("acknowledged",)


def test_the_link_acknowledges_the_case_once_as_its_staff_member(
    conn: Conn,
    clock: FakeClock,
    notifier: notify.Notifier,
    receiver: Receiver,
    workflow: cases.Workflow,
    links: notify.Links,
) -> None:
    case = workflow.intake_alarm(conn, sos()).case
    notifier.run_once()
    token = link_of(receiver, "s-care")
    shown = notify.open_link(conn, links, token, clock.now())
    assert (shown.staff_id, shown.case.id, shown.awaiting) == ("s-care", case.id, True)
    assert {t.staff_id for t in shown.told} == set(CALLED[:3])

    notify.answer_link(conn, links, token, notify.GOING, workflow=workflow, now=clock.now())
    after = cases.get_case(conn, case.id)
    assert after.state is cases.State.ACKNOWLEDGED
    assert after.first_responsible == "s-care"
    acks = [e for e in cases.case_events(conn, case_id=case.id) if e.transition == "acknowledged"]
    assert [e.actor for e in acks] == ["staff:s-care"]
    mine = [n for n in notify.notifications_for_case(conn, case.id) if n.recipient == "s-care"]
    assert (mine[0].state, mine[0].answer) == (notify.DeliveryState.ACKNOWLEDGED, "going")

    with pytest.raises(notify.LinkRefused) as followed:  # following it again
        notify.open_link(conn, links, token, clock.now())
    with pytest.raises(notify.LinkRefused) as pressed:  # pressing again
        notify.answer_link(conn, links, token, notify.GOING, workflow=workflow, now=clock.now())
    for refused in (followed, pressed):
        assert refused.value.kind == "used"
        assert "I am going" in refused.value.reason
    assert len(cases.case_events(conn, case_id=case.id)) == after.version  # nothing more

    # another's link now shows who went and offers no button
    other = notify.open_link(conn, links, link_of(receiver, "s-worker2"), clock.now())
    assert (other.awaiting, other.acknowledged_by) == (False, "staff:s-care")
    with pytest.raises(notify.LinkRefused) as late:
        notify.answer_link(
            conn, links, link_of(receiver, "s-worker2"), "going", workflow=workflow, now=clock.now()
        )
    assert (late.value.kind, "already acknowledged by staff:s-care" in late.value.reason) == (
        "settled",
        True,
    )


def test_an_expired_a_forged_and_a_malformed_link_are_refused_with_the_reason(
    conn: Conn,
    clock: FakeClock,
    notifier: notify.Notifier,
    receiver: Receiver,
    workflow: cases.Workflow,
    links: notify.Links,
) -> None:
    workflow.intake_alarm(conn, sos())
    notifier.run_once()
    token = link_of(receiver, "s-care")
    forged = notify.Links(links.public_url, "another-secret").token(1, clock.now())
    for bad, kind in ((forged, "forged"), ("not-a-token", "malformed"), (token[:-2], "malformed")):
        with pytest.raises(notify.LinkRefused) as refused:
            notify.open_link(conn, links, bad, clock.now())
        assert refused.value.kind == kind
    clock.advance(hours=24, seconds=1)
    with pytest.raises(notify.LinkRefused) as expired:
        notify.answer_link(conn, links, token, "going", workflow=workflow, now=clock.now())
    assert expired.value.kind == "expired"
    assert "expired at" in expired.value.reason


def test_i_cannot_moves_on_to_the_next_person_at_once(
    conn: Conn,
    clock: FakeClock,
    notifier: notify.Notifier,
    receiver: Receiver,
    workflow: cases.Workflow,
    links: notify.Links,
) -> None:
    case = workflow.intake_alarm(conn, sos()).case
    notifier.run_once()
    clock.advance(seconds=5)
    token = link_of(receiver, "s-care")
    notify.answer_link(conn, links, token, notify.CANNOT, workflow=workflow, now=clock.now())
    notifier.run_once()  # well inside the interval: the next person is told at once
    again = told(receiver)[3:]
    assert sorted(again) == ["s-admin", "s-cadre2", "s-worker2"]  # not s-care again
    notes = [e for e in cases.case_events(conn, case_id=case.id) if e.transition == "note_added"]
    assert [e.actor for e in notes] == ["staff:s-care"]
    assert cases.get_case(conn, case.id).state is cases.State.DISPATCHED
