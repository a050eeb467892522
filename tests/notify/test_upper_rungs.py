"""The ladder's upper rungs are people: a case that climbs to the community reaches the
residents' committee's staff, one that climbs to the subdistrict reaches the subdistrict
office's person on duty (the office: the organisation above the committee's). Cases and
notifier on a fake clock, deliveries to a real HTTP receiver; times are the compound's
(Asia/Shanghai).

    organisations   sub-1 (subdistrict_office)  <- parent of  rc-1 (residents_committee)
    parties of c1   p-sub (sub-1)                              p-rc (rc-1)
    p-sub roster    08:00 ======== 20:00                     s-sub-day
                                   20:00 ====== 08:00        s-sub-night
                    otherwise                                s-sub-back  (fallback)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg_pool import ConnectionPool

import cases
import notify
import registry
from domain import CompoundFile, Organisation, Party, PartyKind, Roster, Severity, Staff, StaffRole
from tests.cases.conftest import FakeClock, report
from tests.notify.conftest import Conn, Receiver, with_contacts

pytestmark = pytest.mark.usefixtures("schema_url")

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 3, 1, 9, 0, tzinfo=ZONE).astimezone(UTC)
OFFICE = ["s-sub-day", "s-sub-night", "s-sub-back"]
OFFICE_ROSTER = Roster.model_validate(
    {
        "party": "p-sub",
        "shifts": [
            {"start": "08:00", "end": "20:00", "staff": ["s-sub-day"]},
            {"start": "20:00", "end": "08:00", "staff": ["s-sub-night"]},
        ],
        "fallback": ["s-sub-back"],
    }
)


def the_file(
    receiver: Receiver | None,
    *,
    organisations: list[Organisation],
    office: Party | None,
    committee_org: str | None = "rc-1",
) -> CompoundFile:
    base = with_contacts({})
    parties = [
        p.model_copy(update={"organisation": committee_org}) if p.id == "p-rc" else p
        for p in base.parties
    ]
    staff = list(base.staff)
    if office is not None:
        parties.append(office)
        staff += [Staff(id=s, name=s, role=StaffRole.SUPERVISOR, party=office.id) for s in OFFICE]
    if receiver is not None:
        staff = [
            s.model_copy(update={"contacts": [receiver.url("json", f"/{s.id}")]}) for s in staff
        ]
    rosters = [OFFICE_ROSTER] if office is not None and office.id == "p-sub" else []
    compound = base.model_copy(update={"parties": parties, "staff": staff, "rosters": rosters})
    return CompoundFile(compounds=[compound], organisations=organisations)


def sub(kind: str = "subdistrict_office", compounds: list[str] | None = None) -> Organisation:
    return Organisation(id="sub-1", name="Subdistrict office", kind=kind, compounds=compounds or [])


def rc(parent: str | None = "sub-1") -> Organisation:
    return Organisation(
        id="rc-1", name="Residents' committee", kind="residents_committee", parent=parent
    )


OFFICE_PARTY = Party(
    id="p-sub", kind=PartyKind.SUBDISTRICT_OFFICE, name="Subdistrict office", organisation="sub-1"
)


def load(schema_url: str, file: CompoundFile) -> None:
    with psycopg.connect(schema_url) as conn:
        registry.load(conn, file, actor="test", now=START)


def next_local(after: datetime, hour: int) -> datetime:
    """The first instant at `hour`:00 on the compound's clock at or after `after`."""
    at = after.astimezone(ZONE).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (at if at >= after else at + timedelta(days=1)).astimezone(UTC)


def climb(conn: Conn, workflow: cases.Workflow, case_id: int, top_hour: int) -> cases.CaseEvent:
    """Escalate the case rung after rung, each when its deadline has passed; the last
    (to the subdistrict) at `top_hour` on the compound's clock. Returns that escalation."""
    for _ in range(2):
        due = cases.get_case(conn, case_id).supervise_at
        assert due is not None
        workflow.escalate_if_due(conn, case_id, due + timedelta(seconds=1))
    due = cases.get_case(conn, case_id).supervise_at
    assert due is not None
    [top] = workflow.escalate_if_due(conn, case_id, next_local(due, top_hour))
    return top


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at=START)


@pytest.fixture
def notifier(pool: ConnectionPool, clock: FakeClock) -> notify.Notifier:
    return notify.Notifier(
        pool,
        clock=clock,
        deliver=notify.Channels(),
        rate=notify.RateLimit(per_s=1000, burst=1000),
        policy=notify.NotifyPolicy(severities=frozenset(Severity)),
        name="test",
    )


@pytest.mark.parametrize(("hour", "on_duty"), [(10, "s-sub-day"), (22, "s-sub-night")])
def test_a_case_climbing_to_the_subdistrict_reaches_the_offices_person_on_duty(
    conn: Conn,
    schema_url: str,
    clock: FakeClock,
    receiver: Receiver,
    notifier: notify.Notifier,
    hour: int,
    on_duty: str,
) -> None:
    load(schema_url, the_file(receiver, organisations=[sub(), rc()], office=OFFICE_PARTY))
    workflow = cases.Workflow(clock=clock)
    case = workflow.intake_report(conn, report()).case
    top = climb(conn, workflow, case.id, hour)
    assert top.detail["rung"] == "subdistrict"
    assert top.detail["notify"] == {"level": "subdistrict", "party": "p-sub"}

    clock.at = top.at
    while notifier.run_once():  # a pass claims a batch: the earlier rungs' come first
        pass
    reached = [n for n in notify.notifications_for_case(conn, case.id) if n.case_event_id == top.id]
    assert [(n.recipient, n.state.value) for n in reached] == [(on_duty, "sent")]
    told = {p.path.strip("/") for p in receiver.posts}
    assert on_duty in told
    assert told.isdisjoint(set(OFFICE) - {on_duty})  # the others of the office: not woken
    said = [p.json()["title"] for p in receiver.posts if p.path == f"/{on_duty}"]
    assert len(said) == 1
    assert "已升级" in said[0]  # Chinese, the staff's default language


def test_the_community_rung_reaches_the_committee_serving_the_compound(
    conn: Conn, schema_url: str, clock: FakeClock, receiver: Receiver, notifier: notify.Notifier
) -> None:
    load(schema_url, the_file(receiver, organisations=[sub(), rc()], office=OFFICE_PARTY))
    workflow = cases.Workflow(clock=clock)
    case = workflow.intake_report(conn, report()).case
    events: list[cases.CaseEvent] = []
    for _ in range(2):
        due = cases.get_case(conn, case.id).supervise_at
        assert due is not None
        events += workflow.escalate_if_due(conn, case.id, due + timedelta(seconds=1))
    community = events[-1]
    assert community.detail["notify"] == {"party": "p-rc"}
    clock.at = community.at
    while notifier.run_once():
        pass
    reached = {
        n.recipient
        for n in notify.notifications_for_case(conn, case.id)
        if n.case_event_id == community.id
    }
    assert reached == set(registry.party_staff(conn, "c1", "p-rc"))
    assert reached.isdisjoint(OFFICE)


@pytest.mark.parametrize(
    ("organisations", "office", "expected"),
    [
        # The committee's parent, whatever the parent calls itself.
        ([sub("street_office"), rc()], OFFICE_PARTY, "p-sub"),
        # No parent: a subdistrict office serving the compound itself.
        ([sub(compounds=["c1"]), rc(parent=None)], OFFICE_PARTY, "p-sub"),
        # No organisations at all: the compound's party of kind subdistrict_office.
        ([], OFFICE_PARTY.model_copy(update={"organisation": None}), "p-sub"),
        # Nobody above the committee: the top rung names no party (and reaches nobody).
        ([rc(parent=None)], None, None),
    ],
)
def test_who_the_subdistrict_rung_is(
    conn: Conn,
    schema_url: str,
    organisations: list[Organisation],
    office: Party | None,
    expected: str | None,
) -> None:
    committee = "rc-1" if any(o.id == "rc-1" for o in organisations) else None
    load(
        schema_url,
        the_file(None, organisations=organisations, office=office, committee_org=committee),
    )
    assert registry.community_party(conn, "c1") == "p-rc"
    assert registry.subdistrict_party(conn, "c1") == expected


def test_an_organisations_party_in_a_compound(conn: Conn, schema_url: str) -> None:
    load(schema_url, the_file(None, organisations=[sub(), rc()], office=OFFICE_PARTY))
    found: dict[str, Any] = {
        o: registry.organisation_party(conn, "c1", o) for o in ("sub-1", "rc-1", "nobody")
    }
    assert found == {"sub-1": "p-sub", "rc-1": "p-rc", "nobody": None}
