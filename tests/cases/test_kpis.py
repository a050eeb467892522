"""KPIs on a small known set of cases, against figures worked out by hand.

T0        +30s ack A      +20m A resolved (on time: due +60m), closed, rated 5
T0+1h     B opened; +60s escalated; +90s ack; T0+3h resolved (late: due T0+2h),
          closed, rated 3
T0+4h     C (repair) opened; +10m ack; T0+9h10m resolved, not closed
T0+4h10m  D (repair) opened, cancelled: not due
T0+2d     E (noise): outside the window
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

import cases
import registry
from cases import KpiDimension
from tests.cases.conftest import T0, Conn, FakeClock, report, sos


@pytest.fixture
def known(cc: Conn, workflow: cases.Workflow, clock: FakeClock) -> Conn:
    w = workflow
    a = w.intake_alarm(cc, sos(fingerprint="sos:a", at=T0)).case
    clock.advance(seconds=30)
    a = w.acknowledge(cc, a.id, actor="s-care", version=a.version)
    a = w.start(cc, a.id, actor="s-care", version=a.version)
    clock.at = T0 + timedelta(minutes=20)
    a = w.resolve(cc, a.id, actor="s-care", version=a.version, note="helped up")
    a = w.close(cc, a.id, actor="s-admin", version=a.version)
    w.rate(cc, a.id, actor="s-admin", version=a.version, rating=5)

    clock.at = T0 + timedelta(hours=1)
    b = w.intake_alarm(cc, sos(fingerprint="sos:b", at=clock.at)).case
    cases.Supervisor(cc, workflow=w, clock=clock).run_once(clock.at + timedelta(seconds=60))
    clock.advance(seconds=90)
    b = cases.get_case(cc, b.id)
    b = w.acknowledge(cc, b.id, actor="s-care", version=b.version)
    b = w.start(cc, b.id, actor="s-care", version=b.version)
    clock.at = T0 + timedelta(hours=3)
    b = w.resolve(cc, b.id, actor="s-care", version=b.version, note="late")
    b = w.close(cc, b.id, actor="s-admin", version=b.version)
    w.rate(cc, b.id, actor="s-admin", version=b.version, rating=3)

    clock.at = T0 + timedelta(hours=4)
    c = w.intake_report(cc, report()).case
    clock.advance(minutes=10)
    c = w.acknowledge(cc, c.id, actor="s-prop", version=c.version)
    d = w.intake_report(cc, report()).case
    w.cancel(
        cc,
        d.id,
        actor="s-admin",
        version=d.version,
        reason=cases.CancelReason.NOT_RESPONSIBLE,
        note="private",
    )
    c = w.start(cc, c.id, actor="s-prop", version=c.version)
    clock.at = T0 + timedelta(hours=9, minutes=10)
    w.resolve(cc, c.id, actor="s-prop", version=c.version, note="fixed")

    clock.at = T0 + timedelta(days=2)
    w.intake_report(cc, report("noise"))
    return cc


def by_key(rows: list[cases.Kpi]) -> dict[str, cases.Kpi]:
    return {r.key: r for r in rows}


def window(conn: Conn, by: KpiDimension, **kw: object) -> dict[str, cases.Kpi]:
    return by_key(cases.kpis(conn, since=T0, until=T0 + timedelta(days=1), by=by, **kw))  # type: ignore[arg-type]


def test_kpis_by_category(known: Conn) -> None:
    rows = window(known, KpiDimension.CATEGORY)
    assert set(rows) == {"sos", "repair"}
    s = rows["sos"]
    assert (s.received, s.due, s.closed, s.closed_on_time) == (2, 2, 2, 1)
    assert (s.closure_rate, s.on_time_rate) == (1.0, 0.5)
    assert s.ack_mean_s == pytest.approx(60.0)  # (30 + 90) / 2
    assert s.ack_p90_s == pytest.approx(84.0)  # 30 + 0.9 * (90 - 30)
    assert s.resolve_mean_s == pytest.approx(4200.0)  # (1200 + 7200) / 2
    assert s.resolve_p90_s == pytest.approx(6600.0)  # 1200 + 0.9 * 6000
    assert (s.escalations, s.rated, s.satisfaction_mean, s.satisfied_rate) == (1, 2, 4.0, 0.5)
    r = rows["repair"]
    assert (r.received, r.due, r.closed, r.closed_on_time) == (2, 1, 0, 0)
    assert (r.closure_rate, r.on_time_rate) == (0.0, 0.0)
    assert (r.ack_mean_s, r.ack_p90_s) == (600.0, 600.0)
    assert r.resolve_mean_s == pytest.approx(18_600.0)  # 5 h 10 min
    assert (r.escalations, r.rated, r.satisfaction_mean, r.satisfied_rate) == (0, 0, None, None)


def test_kpis_of_the_compound_and_by_day(known: Conn) -> None:
    (k,) = window(known, KpiDimension.COMPOUND, period="day").values()
    assert k.key == "c1"
    assert k.period == T0.replace(hour=0)
    assert (k.received, k.due, k.closed, k.closed_on_time) == (4, 3, 2, 1)
    assert k.closure_rate == pytest.approx(2 / 3)
    assert k.on_time_rate == pytest.approx(1 / 3)
    assert k.ack_mean_s == pytest.approx(240.0)  # (30 + 90 + 600) / 3
    assert k.ack_p90_s == pytest.approx(498.0)  # rank 1.8: 90 + 0.8 * (600 - 90)
    assert k.resolve_mean_s == pytest.approx(9000.0)  # (1200 + 7200 + 18600) / 3
    assert k.resolve_p90_s == pytest.approx(16_320.0)  # 7200 + 0.8 * 11400


def test_kpis_by_party_and_grid(known: Conn) -> None:
    parties = window(known, KpiDimension.PARTY)
    # Party and grid ids repeat across compounds: each key names its compound.
    assert set(parties) == {"c1/p-care", "c1/grid_team:g2", "c1/p-property"}
    assert parties["c1/p-care"].received == parties["c1/grid_team:g2"].received == 2
    assert parties["c1/p-care"].on_time_rate == 0.5
    assert (parties["c1/p-property"].received, parties["c1/p-property"].due) == (2, 1)
    grids = window(known, KpiDimension.GRID)
    assert {k: (v.received, v.closed) for k, v in grids.items()} == {
        "c1/g1": (2, 0),
        "c1/g2": (2, 2),
    }


def test_kpis_refuse_an_empty_window(cc: Conn) -> None:
    with pytest.raises(cases.InvalidRequest, match="until"):
        cases.kpis(cc, since=T0, until=T0, by=KpiDimension.GRID)


def test_medians_of_response_and_resolution(known: Conn) -> None:
    (k,) = window(known, KpiDimension.COMPOUND).values()
    assert k.ack_median_s == pytest.approx(90.0)  # of 30, 90, 600
    assert k.resolve_median_s == pytest.approx(7200.0)  # of 1200, 7200, 18600


def test_per_person_kpis_and_the_cases_within_one_key(
    known: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    clock.at = T0 + timedelta(hours=5)
    e = workflow.intake_report(known, report()).case
    workflow.assign(known, e.id, actor="s-admin", version=e.version, staff_id="s-prop")
    people = window(known, KpiDimension.STAFF)
    fixer = people["c1/s-prop"]  # a staff key names its compound, as every key does
    assert (fixer.received, fixer.due, fixer.closed) == (1, 1, 0)
    property_staff = window(known, KpiDimension.STAFF, within=(KpiDimension.PARTY, "c1/p-property"))
    assert property_staff["c1/s-prop"] == fixer
    care_staff = window(known, KpiDimension.STAFF, within=(KpiDimension.PARTY, "c1/p-care"))
    assert "c1/s-prop" not in care_staff
    g2 = window(known, KpiDimension.CATEGORY, within=(KpiDimension.GRID, "c1/g2"))
    assert {c: (v.received, v.closed) for c, v in g2.items()} == {"sos": (2, 2)}
    mine = window(known, KpiDimension.CATEGORY, within=(KpiDimension.STAFF, "c1/s-prop"))
    assert {c: v.received for c, v in mine.items()} == {"repair": 1}


def test_iter_cases_pages_by_key_and_the_evaluation_filters(known: Conn) -> None:
    every = registry.EVERYTHING
    whole = cases.CaseFilter(start=T0, end=T0 + timedelta(days=1))
    batches = list(cases.iter_cases(known, scope=every, filters=whole, batch=2))
    assert [len(b) for b in batches] == [2, 2]  # A, B, C, D in pages of two
    ids = [c.id for b in batches for c in b]
    assert ids == sorted(ids)
    listed, _ = cases.list_cases(known, scope=every, filters=whole, limit=50, offset=0)
    assert set(ids) == {c.id for c in listed}

    def found(**changes: object) -> set[str]:
        filters = replace(whole, **changes)  # type: ignore[arg-type]
        got, total = cases.list_cases(known, scope=every, filters=filters, limit=50, offset=0)
        assert total == len(got)
        return {c.category for c in got}

    # Overdue: B, resolved an hour after its due; not A (on time), C (resolved within its
    # day), D (cancelled: not due). A case still open counts once its due has passed.
    overdue = replace(whole, overdue_at=T0 + timedelta(days=3))
    got, _ = cases.list_cases(known, scope=every, filters=overdue, limit=50, offset=0)
    assert [c.category for c in got] == ["sos"]
    assert found(escalated=True) == {"sos"}  # B, escalated by the supervisor
    assert found(party="p-property") == {"repair"}
    assert found(party="grid_team:g2") == {"sos"}
