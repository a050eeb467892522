"""Who is reached: an SOS goes to the care responders the roster has on duty (and the
flat's grid team), the fallback outside any shift; a roster naming an unknown person is
refused at load; quiet hours hold back a non-critical notification until they end, never
an SOS. Cases and notifier run on a fake clock; deliveries reach a real HTTP receiver.
Times are the compound's (Asia/Shanghai, UTC+8); 2024-03-01 is a Friday.

    care roster    08:00 ======== 20:00                     s-care      (every day)
                                  20:00 ====== 08:00        s-night     (starts Fridays)
                   otherwise                                s-back      (fallback)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg_pool import ConnectionPool

import cases
import notify
import registry
from domain import CompoundFile, QuietHours, Roster, Severity, Staff, StaffRole
from tests.cases.conftest import FakeClock, report, sos
from tests.notify.conftest import Conn, Receiver, with_contacts

pytestmark = pytest.mark.usefixtures("schema_url")

ZONE = ZoneInfo("Asia/Shanghai")
GRID_TEAM = ["s-cadre2", "s-worker2"]  # the elder's flat 3-2-301 is in grid g2
CARE_ROSTER = Roster.model_validate(
    {
        "party": "p-care",
        "shifts": [
            {"start": "08:00", "end": "20:00", "staff": ["s-care"]},
            {"days": ["fri"], "start": "20:00", "end": "08:00", "staff": ["s-night"]},
        ],
        "fallback": ["s-back"],
    }
)
QUIET = QuietHours.model_validate({"start": "22:00", "end": "07:00"})


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def care(staff_id: str) -> Staff:
    return Staff(id=staff_id, name=staff_id, role=StaffRole.CARE_RESPONDER, party="p-care")


def the_compound(
    receiver: Receiver, rosters: list[Roster], quiet: dict[str, QuietHours]
) -> CompoundFile:
    base = with_contacts({})
    staff = [*base.staff, care("s-night"), care("s-back")]
    staff = [
        s.model_copy(
            update={"contacts": [receiver.url("json", f"/{s.id}")], "quiet_hours": quiet.get(s.id)}
        )
        for s in staff
    ]
    return CompoundFile(compounds=[base.model_copy(update={"staff": staff, "rosters": rosters})])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def load(schema_url: str, receiver: Receiver) -> Callable[..., None]:
    def put(rosters: list[Roster], quiet: dict[str, QuietHours] | None = None) -> None:
        with psycopg.connect(schema_url) as conn:
            registry.load(
                conn, the_compound(receiver, rosters, quiet or {}), actor="test", now=local(1, 0)
            )

    return put


@pytest.fixture
def notifier(pool: ConnectionPool, clock: FakeClock) -> notify.Notifier:
    return notify.Notifier(
        pool,
        clock=clock,
        deliver=notify.Channels(),
        rate=notify.RateLimit(per_s=1000, burst=1000),
        # Every dispatch notifies, so that a minor case shows what quiet hours do.
        policy=notify.NotifyPolicy(severities=frozenset(Severity)),
        name="test",
    )


def told(receiver: Receiver) -> list[str]:
    return sorted(p.path.strip("/") for p in receiver.posts)


@pytest.mark.parametrize(
    ("at", "on_duty"),
    [
        (local(1, 10), "s-care"),  # Friday morning: the day shift
        (local(1, 21), "s-night"),  # Friday night
        (local(2, 3), "s-night"),  # Saturday 03:00: Friday's night shift, past midnight
        (local(2, 21), "s-back"),  # Saturday night: no shift, the fallback
    ],
)
def test_an_sos_reaches_who_is_on_duty_and_the_grid_team(
    conn: Conn,
    clock: FakeClock,
    receiver: Receiver,
    notifier: notify.Notifier,
    load: Callable[..., None],
    at: datetime,
    on_duty: str,
) -> None:
    load([CARE_ROSTER])
    clock.at = at
    cases.Workflow(clock=clock).intake_alarm(conn, sos(at=at))
    notifier.run_once()
    assert told(receiver) == sorted([on_duty, *GRID_TEAM])
    assert registry.on_duty(conn, "c1", "p-care", "g2", at) == [on_duty]


def test_without_a_roster_the_whole_party_is_reached(
    conn: Conn,
    clock: FakeClock,
    receiver: Receiver,
    notifier: notify.Notifier,
    load: Callable[..., None],
) -> None:
    load([])
    clock.at = local(2, 21)
    cases.Workflow(clock=clock).intake_alarm(conn, sos(at=clock.at))
    notifier.run_once()
    assert told(receiver) == sorted(["s-care", "s-night", "s-back", *GRID_TEAM])
    assert registry.on_duty(conn, "c1", "p-care", "g2", clock.at) is None


def test_a_grid_roster_comes_before_the_party_roster(conn: Conn, load: Callable[..., None]) -> None:
    g2 = Roster.model_validate(
        {"party": "p-care", "grid": "g2", "shifts": [], "fallback": ["s-back", "s-care"]}
    )
    load([CARE_ROSTER, g2])
    assert registry.on_duty(conn, "c1", "p-care", "g2", local(1, 10)) == ["s-back", "s-care"]
    assert registry.on_duty(conn, "c1", "p-care", "g1", local(1, 10)) == ["s-care"]


def test_a_roster_naming_an_unknown_person_is_refused(
    conn: Conn, receiver: Receiver, load: Callable[..., None]
) -> None:
    bad = Roster.model_validate({"party": "p-care", "fallback": ["s-nobody"]})
    with pytest.raises(
        registry.RegistryLoadError, match="roster names an unregistered staff member: s-nobody"
    ):
        load([bad])


def test_quiet_hours_hold_back_a_minor_case_until_morning_but_never_an_sos(
    conn: Conn,
    clock: FakeClock,
    receiver: Receiver,
    notifier: notify.Notifier,
    load: Callable[..., None],
) -> None:
    # s-prop (a repair in 1-1-101, grid g1) and s-night (the SOS) both rest 22:00-07:00.
    load([CARE_ROSTER], {"s-prop": QUIET, "s-night": QUIET})
    clock.at = local(1, 23)
    workflow = cases.Workflow(clock=clock)
    repair = workflow.intake_report(conn, report()).case
    workflow.intake_alarm(conn, sos(at=clock.at))
    notifier.run_once()
    assert "s-night" in told(receiver)  # woken for an SOS
    assert "s-prop" not in told(receiver)  # the light can wait
    waiting = [n for n in notify.notifications_for_case(conn, repair.id) if n.recipient == "s-prop"]
    assert [(n.state.value, n.next_attempt_at) for n in waiting] == [("queued", local(2, 7))]

    clock.at = local(2, 6, 59)
    notifier.run_once()
    assert "s-prop" not in told(receiver)
    clock.at = local(2, 7)
    notifier.run_once()
    assert "s-prop" in told(receiver)
