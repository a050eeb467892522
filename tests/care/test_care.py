"""Care programmes on a real database: plans and their due times, visits, refusals with
their reasons, meal deliveries, the KPIs, follow-ups scheduled from closed cases, and the
sweep turning an overdue visit or a missed meal into exactly one case."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

import care
import cases
import registry
from domain import HouseholdTag
from tests.care.conftest import T0, Conn, FakeClock

ELDER = "3-2-301"  # elderly and empty-nest, building 3: grid g2
RENTED = "1-1-101"  # rented, grid g1
EVERYTHING = registry.EVERYTHING


def plan(conn: Conn, *, days_ago: int = 10, interval: int = 7, **changes: object) -> care.Plan:
    values: dict[str, object] = {
        "compound": "c1",
        "flat": ELDER,
        "tag": HouseholdTag.EMPTY_NEST,
        "visitor": "s-worker2",
        "interval_days": interval,
        "starts_at": T0 - timedelta(days=days_ago),
    }
    values.update(changes)
    return care.create_plan(conn, care.PlanDraft(**values), actor="coordinator", now=T0)  # type: ignore[arg-type]


def visit(
    conn: Conn, plan_id: int, at: object = None, now: object = T0, **changes: object
) -> care.Visit:
    values: dict[str, object] = {
        "compound": "c1",
        "visitor": "s-worker2",
        "visited_at": at or T0,
        "outcome": care.Outcome.WELL,
        "note": "blood pressure 150/95, advised to see the doctor",
        "plan_id": plan_id,
    }
    values.update(changes)
    draft = care.VisitDraft(**values)  # type: ignore[arg-type]
    return care.record_visit(conn, draft, actor="coordinator", now=now)  # type: ignore[arg-type]


def care_cases(conn: Conn) -> list[cases.Case]:
    found, _ = cases.list_cases(
        conn, scope=EVERYTHING, filters=cases.CaseFilter(), limit=100, offset=0
    )
    return found


def test_a_plan_is_due_its_interval_after_the_last_visit(conn: Conn) -> None:
    p = plan(conn)  # started 10 days ago, every 7 days, never visited: 3 days overdue
    assert p.grid == "g2"
    assert p.due_at == T0 - timedelta(days=3)
    assert p.status(T0) is care.PlanStatus.OVERDUE
    v = visit(conn, p.id, T0 - timedelta(hours=1))
    assert not v.on_time  # it answered the due time of three days ago
    after = care.get_plan(conn, "c1", p.id)
    assert after.last_visit_at == T0 - timedelta(hours=1)
    assert after.due_at == T0 - timedelta(hours=1) + timedelta(days=7)
    assert after.status(T0) is care.PlanStatus.SCHEDULED
    assert after.status(after.due_at - timedelta(hours=2)) is care.PlanStatus.DUE
    listed, count = care.plans(
        conn, EVERYTHING, compound="c1", grid="g2", now=T0, active=True, limit=10, offset=0
    )
    assert (count, [x.id for x in listed]) == (1, [p.id])
    _, other_grid = care.plans(
        conn, EVERYTHING, compound="c1", grid="g1", now=T0, active=True, limit=10, offset=0
    )
    assert other_grid == 0


def test_a_grid_workers_scope_hides_the_plans_of_other_buildings(conn: Conn) -> None:
    plan(conn)
    g1 = registry.Scope(buildings=frozenset({"c1/1", "c1/2"}), grids=frozenset({("c1", "g1")}))
    _, seen = care.plans(
        conn, g1, compound="c1", grid=None, now=T0, active=False, limit=10, offset=0
    )
    assert seen == 0


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"flat": "9-1-101"}, "flat", "c1 has no household at 9-1-101"),
        ({"flat": "2-1-101"}, "flat", "c1 has no household at 2-1-101"),
        ({"compound": "c9"}, "compound", "no compound 'c9'"),
        ({"flat": RENTED}, "tag", "household 1-1-101 is not tagged empty_nest"),
        ({"tag": HouseholdTag.DISABLED}, "tag", "household 3-2-301 is not tagged disabled"),
        ({"tag": HouseholdTag.RENTED}, "tag", "a care plan serves one of"),
        ({"interval": -3}, "interval_days", "must be 1 to 365 days, not -3"),
        ({"interval": 0}, "interval_days", "must be 1 to 365 days, not 0"),
        ({"visitor": "s-nobody"}, "visitor", "no staff member or party 's-nobody' serves c1"),
        ({"days_ago": 400}, "starts_at", "at most 365 days back"),
        ({"flat": "3-2"}, "flat", "is not a standard address"),
    ],
)
def test_a_plan_that_cannot_be_is_refused_with_its_reason(
    conn: Conn, changes: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(care.InvalidCare) as refused:
        plan(conn, **changes)
    assert refused.value.field == field
    assert reason in refused.value.reason


def test_visits_that_cannot_be_are_refused(conn: Conn) -> None:
    p = plan(conn)
    with pytest.raises(care.InvalidCare, match="visited_at: lies in the future"):
        visit(conn, p.id, T0 + timedelta(hours=1))
    with pytest.raises(care.InvalidCare, match="before plan"):
        visit(conn, p.id, T0 - timedelta(days=20))
    with pytest.raises(care.InvalidCare, match="no staff member or party 'stranger'"):
        visit(conn, p.id, visitor="stranger")
    with pytest.raises(care.InvalidCare, match="either a plan or a follow-up"):
        visit(conn, p.id, follow_up_id=1)
    with pytest.raises(care.CareNotFound):
        visit(conn, p.id + 100)
    care.end_plan(conn, "c1", p.id, actor="coordinator", now=T0)
    with pytest.raises(care.InvalidCare, match=f"plan {p.id} has ended"):
        visit(conn, p.id)
    assert care.get_plan(conn, "c1", p.id).status(T0) is care.PlanStatus.ENDED


def schedule(
    conn: Conn, flat: str = ELDER, weekdays: tuple[int, ...] = (2, 4)
) -> care.MealSchedule:
    draft = care.MealScheduleDraft(
        compound="c1",
        flat=flat,
        meal=care.Meal.LUNCH,
        weekdays=weekdays,
        deliverer="p-care",
        starts_on=date(2026, 11, 1),
    )
    return care.create_schedule(conn, draft, actor="coordinator", now=T0)


def deliver(conn: Conn, schedule_id: int, day: date, done: bool) -> care.Delivery:
    draft = care.DeliveryDraft(compound="c1", schedule_id=schedule_id, day=day, done=done)
    return care.record_delivery(conn, draft, actor="p-care", today=T0.date(), now=T0)


def test_meals_go_to_elderly_households_on_their_days_once_a_day(conn: Conn) -> None:
    with pytest.raises(care.InvalidCare, match="household 1-1-101 is not tagged elderly"):
        schedule(conn, RENTED)
    with pytest.raises(care.InvalidCare, match=r"days are 1 \(Monday\) to 7 \(Sunday\)"):
        schedule(conn, weekdays=(0, 8))
    s = schedule(conn)  # Tuesdays and Thursdays
    tuesday = T0.date()
    deliver(conn, s.id, tuesday - timedelta(days=5), done=True)  # the Thursday before
    with pytest.raises(care.InvalidCare, match="is not one of the schedule's days"):
        deliver(conn, s.id, tuesday - timedelta(days=1), done=True)
    with pytest.raises(care.InvalidCare, match="has not come yet"):
        deliver(conn, s.id, tuesday + timedelta(days=2), done=True)
    deliver(conn, s.id, tuesday, done=False)
    with pytest.raises(care.InvalidCare, match="recorded already"):
        deliver(conn, s.id, tuesday, done=True)
    again = care.get_schedule(conn, "c1", s.id)
    assert (again.done, again.missed) == (1, 1)
    missed, count = care.deliveries(
        conn, EVERYTHING, compound="c1", grid="g2", missed_only=True, limit=10, offset=0
    )
    assert count == 1
    assert missed[0].day == tuesday


def test_the_kpis_count_plans_visits_and_meals_of_a_grid(conn: Conn) -> None:
    late = plan(conn)  # overdue
    plan(conn, days_ago=1, tag=HouseholdTag.ELDERLY)  # due in 6 days
    soon = plan(conn, days_ago=6, interval=7, tag=HouseholdTag.ELDERLY)  # due in a day
    visit(conn, late.id, T0 - timedelta(hours=2))  # late: now scheduled
    visit(conn, soon.id, T0 - timedelta(hours=1))  # on time
    s = schedule(conn)
    deliver(conn, s.id, T0.date(), done=False)
    deliver(conn, s.id, T0.date() - timedelta(days=5), done=True)
    k = care.kpis(conn, EVERYTHING, compound="c1", grid="g2", now=T0, since=T0 - timedelta(days=30))
    assert (k.plans_active, k.visits_overdue, k.visits_due) == (3, 0, 0)
    assert (k.visits_recorded, k.visits_on_time, k.on_time_rate) == (2, 1, 0.5)
    assert (k.deliveries_done, k.deliveries_missed) == (1, 1)
    k1 = care.kpis(
        conn, EVERYTHING, compound="c1", grid="g1", now=T0, since=T0 - timedelta(days=30)
    )
    assert (k1.plans_active, k1.visits_recorded, k1.deliveries_missed, k1.on_time_rate) == (
        0,
        0,
        0,
        None,
    )
    later = care.kpis(
        conn,
        EVERYTHING,
        compound="c1",
        grid=None,
        now=T0 + timedelta(days=6, hours=12),
        since=T0,
    )
    assert (later.visits_overdue, later.visits_due) == (1, 2)


def test_the_kpis_of_every_grid_at_once_in_the_readers_scope(conn: Conn) -> None:
    """What the main KPIs and the monthly evaluation show per grid: the same figures as
    `kpis` for one grid, every grid with care in one call, a grid worker's grids only."""
    conn.execute("UPDATE households SET tags = '{elderly}' WHERE flat = %s", (RENTED,))
    plan(conn)  # g2, overdue
    plan(conn, flat=RENTED, tag=HouseholdTag.ELDERLY, days_ago=1)  # g1, due in 6 days
    s = schedule(conn)
    deliver(conn, s.id, T0.date(), done=False)
    deliver(conn, s.id, T0.date() - timedelta(days=5), done=True)
    since, until = T0 - timedelta(days=30), T0 + timedelta(hours=1)
    rows = care.kpis_by_grid(conn, EVERYTHING, compound="c1", now=T0, since=since, until=until)
    assert [(k.compound, k.grid) for k in rows] == [("c1", "g1"), ("c1", "g2")]
    g1, g2 = rows
    assert (g1.plans_active, g1.visits_overdue, g1.deliveries_missed) == (1, 0, 0)
    assert (g2.plans_active, g2.visits_overdue) == (1, 1)
    assert (g2.deliveries_done, g2.deliveries_missed, g2.deliveries_unrecorded) == (1, 1, 0)
    one = care.kpis(conn, EVERYTHING, compound="c1", grid="g2", now=T0, since=since)
    assert (one.plans_active, one.visits_overdue, one.deliveries_missed) == (1, 1, 1)
    before = care.kpis_by_grid(
        conn, EVERYTHING, compound="c1", now=T0, since=since, until=T0 - timedelta(days=1)
    )
    assert [k.deliveries_missed for k in before] == [0, 0]  # the missed day is after `until`
    worker = registry.Scope(buildings=frozenset({"c1/3"}), grids=frozenset({("c1", "g2")}))
    seen = care.kpis_by_grid(conn, worker, compound=None, now=T0, since=since, until=until)
    assert [(k.compound, k.grid, k.visits_overdue) for k in seen] == [("c1", "g2", 1)]


def test_an_overdue_visit_becomes_one_case_across_sweeps_and_restarts(
    conn: Conn, care_db: str, workflow: cases.Workflow, clock: FakeClock
) -> None:
    p = plan(conn, days_ago=8)  # due a day ago: within the two days' grace
    assert care.run_once(conn, workflow, clock.now()).visit_cases == 0
    clock.advance(days=1, hours=1)  # now over the grace
    assert care.run_once(conn, workflow, clock.now()).visit_cases == 1
    assert care.run_once(conn, workflow, clock.now()).visit_cases == 0
    with psycopg.connect(care_db, autocommit=True) as fresh:  # another process, later
        again = care.run_once(fresh, cases.Workflow(clock=clock), clock.advance(hours=5))
    assert again.visit_cases == 0
    [case] = care_cases(conn)
    assert (case.category, case.flat, case.grid_id) == ("care_visit_overdue", ELDER, "g2")
    assert {a.party_kind for a in case.assignments} == {"elderly_care_centre", "grid_team"}
    assert str(p.id) in str(cases.case_events(conn, case_id=case.id)[0].detail)
    # Visited: the next period starts; overdue again later, that is a second case.
    visit(conn, p.id, clock.now() - timedelta(hours=1), now=clock.now())
    clock.advance(days=10)
    assert care.run_once(conn, workflow, clock.now()).visit_cases == 1
    assert len(care_cases(conn)) == 2


def test_a_missed_meal_becomes_one_case(conn: Conn, workflow: cases.Workflow) -> None:
    s = schedule(conn)
    deliver(conn, s.id, T0.date() - timedelta(days=5), done=True)
    deliver(conn, s.id, T0.date(), done=False)
    assert care.run_once(conn, workflow, T0).meal_cases == 1
    assert care.run_once(conn, workflow, T0).meal_cases == 0
    [case] = care_cases(conn)
    assert case.category == "meal_missed"
    assert "lunch" in case.title


def test_a_day_nobody_recorded_is_flagged_then_becomes_one_case(
    conn: Conn, workflow: cases.Workflow
) -> None:
    """Lunch every day, its window closing at 14:00 in Shanghai (06:00 UTC); the schedule
    made on 28 Nov at 16:00, after that day's window; 29 Nov recorded done.

        28 Nov    29 Nov    30 Nov    1 Dec 06:00 closes   08:00 (T0)
        made      done      nothing   nothing
                            |-- not recorded --------------|
                            case at 30 Nov 08:00 (grace 2 h), 1 Dec's at 08:00
    """
    draft = care.MealScheduleDraft(
        compound="c1",
        flat=ELDER,
        meal=care.Meal.LUNCH,
        weekdays=(1, 2, 3, 4, 5, 6, 7),
        deliverer="p-care",
        starts_on=date(2026, 11, 1),
    )
    s = care.create_schedule(conn, draft, actor="coordinator", now=T0 - timedelta(days=3))
    deliver(conn, s.id, date(2026, 11, 29), done=True)
    [listed], _ = care.schedules(
        conn, EVERYTHING, compound="c1", grid="g2", limit=10, offset=0, now=T0
    )
    assert listed.unrecorded == (date(2026, 11, 30), date(2026, 12, 1))
    since = T0 - timedelta(days=30)
    k = care.kpis(conn, EVERYTHING, compound="c1", grid="g2", now=T0, since=since)
    assert (k.deliveries_done, k.deliveries_missed, k.deliveries_unrecorded) == (1, 0, 2)

    assert care.run_once(conn, workflow, T0 - timedelta(hours=1)).unrecorded_cases == 1
    assert care.run_once(conn, workflow, T0).unrecorded_cases == 1  # 1 Dec, 2 h past 14:00
    assert care.run_once(conn, workflow, T0).unrecorded_cases == 0
    deliver(conn, s.id, date(2026, 12, 1), done=False)  # recorded late, as missed
    again = care.run_once(conn, workflow, T0 + timedelta(minutes=5))
    assert (again.meal_cases, again.unrecorded_cases) == (0, 0)  # its case is open already
    found = care_cases(conn)
    assert sorted(c.title for c in found) == [
        f"Meal delivery not recorded at {ELDER} (lunch, 2026-11-30)",
        f"Meal delivery not recorded at {ELDER} (lunch, 2026-12-01)",
    ]
    assert {c.category for c in found} == {"meal_missed"}
    [after], _ = care.schedules(
        conn, EVERYTHING, compound="c1", grid="g2", limit=10, offset=0, now=T0
    )
    assert after.unrecorded == (date(2026, 11, 30),)


def test_a_sweep_that_died_after_its_claim_opens_the_case_on_a_later_pass(
    conn: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    s = schedule(conn)
    deliver(conn, s.id, T0.date(), done=False)
    conn.execute(  # what a sweep killed between its claim and the case leaves
        "INSERT INTO care_alerts (kind, subject, compound_id, flat, title, severity, raised_at)"
        " SELECT 'meal_missed', 'delivery:' || id, 'c1', flat, 'Meal delivery missed', 'major',"
        " %s FROM care_meal_deliveries",
        (T0,),
    )
    assert care.run_once(conn, workflow, T0).meal_cases == 0
    assert care_cases(conn) == []  # another sweep may still be opening it
    care.run_once(conn, workflow, clock.advance(minutes=2))
    care.run_once(conn, workflow, clock.advance(minutes=2))
    assert len(care_cases(conn)) == 1


def _resolved_report(conn: Conn, workflow: cases.Workflow, location: str) -> cases.Case:
    report = cases.Report(
        compound="c1",
        category="elderly_care",
        description="the elder fell in the bathroom last week",
        reporter="r-elder",
        location=location,
    )
    case = workflow.intake_report(conn, report).case
    case = workflow.acknowledge(conn, case.id, actor="s-care", version=case.version)
    case = workflow.start(conn, case.id, actor="s-care", version=case.version)
    return workflow.resolve(conn, case.id, actor="s-care", version=case.version, note="rails")


def test_closing_a_case_in_the_follow_up_mode_schedules_one_follow_up_visit(
    conn: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    plain = _resolved_report(conn, workflow, ELDER)
    workflow.close(conn, plain.id, actor="s-care", version=plain.version)
    asked = _resolved_report(conn, workflow, ELDER)
    closed = workflow.close(conn, asked.id, actor="s-care", version=asked.version, follow_up=True)
    assert care.run_once(conn, workflow, clock.now()).follow_ups == 1
    assert care.run_once(conn, workflow, clock.now()).follow_ups == 0
    [f], _ = care.follow_ups(
        conn, EVERYTHING, compound="c1", grid="g2", open_only=True, limit=10, offset=0
    )
    assert (f.case_id, f.flat, f.grid) == (closed.id, ELDER, "g2")
    assert f.due_at == closed.closed_at + care.FOLLOW_UP_AFTER
    # Not visited in its week and the grace: a case, once.
    clock.advance(days=10)
    assert care.run_once(conn, workflow, clock.now()).visit_cases == 1
    assert care.run_once(conn, workflow, clock.now()).visit_cases == 0
    overdue = [c for c in care_cases(conn) if c.category == "care_visit_overdue"]
    assert len(overdue) == 1
    done = care.record_visit(
        conn,
        care.VisitDraft(
            compound="c1",
            visitor="s-care",
            visited_at=clock.now(),
            outcome=care.Outcome.WELL,
            follow_up_id=f.id,
        ),
        actor="s-care",
        now=clock.now(),
    )
    assert done.follow_up_id == f.id
    assert care.get_follow_up(conn, "c1", f.id).visited_at == clock.now()
    with pytest.raises(care.InvalidCare, match="was visited already"):
        care.record_visit(
            conn,
            care.VisitDraft(
                compound="c1",
                visitor="s-care",
                visited_at=clock.now(),
                outcome=care.Outcome.WELL,
                follow_up_id=f.id,
            ),
            actor="s-care",
            now=clock.now(),
        )


def test_a_closing_without_a_household_schedules_nothing(
    conn: Conn, workflow: cases.Workflow
) -> None:
    case = _resolved_report(conn, workflow, "north gate")
    workflow.close(conn, case.id, actor="s-care", version=case.version, follow_up=True)
    assert care.run_once(conn, workflow, T0).follow_ups == 0
