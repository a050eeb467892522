"""Cases walked through every path against a real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import psycopg
import pytest

import cases
from cases import Action, ActionMode, CancelReason, State, Transition
from tests.cases.conftest import T0, Conn, FakeClock, RecordingPublisher, report, sos
from tests.factories import COMPOUND, ELDER_FLAT


def history(conn: Conn, case_id: int) -> list[tuple[str, str | None, str, int]]:
    return [
        (e.transition.value, e.from_state and e.from_state.value, e.to_state.value, e.version)
        for e in cases.case_events(conn, case_id=case_id)
    ]


def test_an_sos_goes_to_the_care_centre_and_the_grid_worker_at_once(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    clock.advance(seconds=2)
    intake = workflow.intake_alarm(cc, sos())
    case = intake.case
    assert not intake.joined
    assert (case.state, case.version, case.grid_id, case.flat) == (
        State.DISPATCHED,
        2,
        "g2",
        ELDER_FLAT,
    )
    assert {(a.party_kind, a.party_id, a.staff_id) for a in case.assignments} == {
        ("elderly_care_centre", "p-care", None),
        ("grid_team", None, "s-worker2"),
    }
    # The SLA clock starts with the alarm, not with our intake 2 s later.
    assert case.ack_due == T0 + cases.DEFAULT_SLA[("sos", "*")].acknowledge
    assert (case.ack_due - T0).total_seconds() == 60

    clock.advance(seconds=30)
    case = workflow.acknowledge(cc, case.id, actor="s-care", version=case.version)
    case = workflow.start(cc, case.id, actor="s-care", version=case.version)
    emergency = Action(ActionMode.ON_SITE_EMERGENCY, "found on the floor, ambulance called")
    case = workflow.record_action(cc, case.id, emergency, actor="s-care", version=case.version)
    case = workflow.resolve(cc, case.id, actor="s-care", version=case.version, note="in hospital")
    case = workflow.close(cc, case.id, actor="s-admin", version=case.version)

    assert case.state is State.CLOSED
    assert case.acknowledged_at == T0 + timedelta(seconds=32)
    assert history(cc, case.id) == [
        ("opened", None, "new", 1),
        ("dispatched", "new", "dispatched", 2),
        ("acknowledged", "dispatched", "acknowledged", 3),
        ("started", "acknowledged", "in_progress", 4),
        ("action_recorded", "in_progress", "in_progress", 5),
        ("resolved", "in_progress", "resolved", 6),
        ("closed", "resolved", "closed", 7),
    ]
    assert case.version == 7
    prefix = f"dayuan/v1/{COMPOUND}/cases/{case.id}/"
    assert publisher.topics == [prefix + t for t, *_ in history(cc, case.id)]
    message = orjson.loads(publisher.sent[2][1])
    assert message["transition"] == "acknowledged"
    assert message["actor"] == "s-care"
    assert message["from"] == "dispatched"
    assert message["to"] == "acknowledged"


def test_a_residents_report_is_told_the_outcome_rated_closed_and_reopened(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    case = workflow.intake_report(cc, report()).case
    assert case.source is cases.Source.RESIDENT
    assert (case.grid_id, case.flat, case.reporter) == ("g1", "1-1-101", "r-1")
    assert [(a.party_kind, a.party_id) for a in case.assignments] == [
        ("property_company", "p-property")
    ]
    assert case.resolve_due - case.opened_at == cases.DEFAULT_SLA[("*", "minor")].resolve

    case = _walk_to_resolved(workflow, cc, case, clock)
    assert history(cc, case.id)[-2:] == [
        ("resolved", "in_progress", "resolved", 6),
        ("reporter_informed", "resolved", "resolved", 7),
    ]
    told = cases.case_events(cc, case_id=case.id)[-1]
    assert told.detail == {"reporter": "r-1", "outcome": "bulb replaced"}
    assert publisher.topics[-1].endswith(f"/cases/{case.id}/reporter_informed")

    case = workflow.rate(
        cc, case.id, actor="resident:r-1", version=case.version, rating=2, comment="dark again"
    )
    case = workflow.close(cc, case.id, actor="s-admin", version=case.version)
    case = workflow.reopen(cc, case.id, actor="resident:r-1", version=case.version, reason="dark")
    assert (case.state, case.resolved_at, case.closed_at, case.rating) == (
        State.REOPENED,
        None,
        None,
        2,
    )
    case = _walk_to_resolved(workflow, cc, case, clock)
    case = workflow.rate(cc, case.id, actor="resident:r-1", version=case.version, rating=5)
    case = workflow.close(cc, case.id, actor="s-admin", version=case.version)
    assert (case.state, case.rating) == (State.CLOSED, 5)
    transitions = [t for t, *_ in history(cc, case.id)]
    assert transitions.count("reopened") == 1
    assert transitions.count("resolved") == 2
    assert case.version == len(transitions)


def _walk_to_resolved(
    workflow: cases.Workflow, cc: Conn, case: cases.Case, clock: FakeClock
) -> cases.Case:
    clock.advance(minutes=10)
    case = workflow.acknowledge(cc, case.id, actor="s-prop", version=case.version)
    case = workflow.start(cc, case.id, actor="s-prop", version=case.version)
    visit = Action(ActionMode.HOME_VISIT, "checked the landing")
    case = workflow.record_action(cc, case.id, visit, actor="s-prop", version=case.version)
    clock.advance(hours=1)
    return workflow.resolve(cc, case.id, actor="s-prop", version=case.version, note="bulb replaced")


def test_a_patrol_finding_without_a_grid_goes_to_the_community(
    cc: Conn, workflow: cases.Workflow
) -> None:
    finding = cases.Report(
        compound=COMPOUND,
        category="noise",
        description="Night-time building work by the north gate",
        reporter="s-cadre1",
        source=cases.Source.PATROL,
        location="north gate",
    )
    case = workflow.intake_report(cc, finding).case
    assert (case.grid_id, case.flat, case.location) == (None, None, "north gate")
    assert [(a.party_kind, a.party_id) for a in case.assignments] == [
        ("residents_committee", "p-rc")
    ]
    assert cases.case_events(cc, case_id=case.id)[0].actor == "s-cadre1"


def test_a_joint_consultation_records_its_participants_and_decision(
    cc: Conn, workflow: cases.Workflow
) -> None:
    case = workflow.intake_report(cc, report("public_affairs", "2-1-201")).case
    assert {a.party_kind for a in case.assignments} == {
        "residents_committee",
        "owners_committee",
        "property_company",
    }
    case = workflow.acknowledge(cc, case.id, actor="s-admin", version=case.version)
    meeting = Action(
        ActionMode.JOINT_CONSULTATION,
        "deliberation on a lift for building 2",
        participants=("p-rc", "p-owners", "p-property", "resident:r-1"),
        decision="install; owners of floors 3+ pay 70%",
    )
    workflow.record_action(cc, case.id, meeting, actor="s-admin", version=case.version)
    detail = cases.case_events(cc, case_id=case.id)[-1].detail
    assert detail["mode"] == "joint_consultation"
    assert detail["participants"] == ["p-rc", "p-owners", "p-property", "resident:r-1"]
    assert detail["decision"] == "install; owners of floors 3+ pay 70%"
    with pytest.raises(cases.InvalidRequest, match="participants"):
        Action(ActionMode.JOINT_CONSULTATION, "alone", participants=("p-rc",), decision="x")


def test_a_repeated_alarm_joins_the_open_case(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    first = workflow.intake_alarm(cc, sos(0))
    clock.advance(seconds=20)
    again = workflow.intake_alarm(cc, sos(1, at=clock.now()))
    assert again.joined
    assert again.case.id == first.case.id
    assert (again.case.alarm_count, again.case.version) == (2, 3)
    assert [e.transition for e in again.events] == [Transition.JOINED]
    assert again.events[0].detail["values"] == {"press": 1}
    # Once it is no longer open, the same fingerprint opens a new case.
    case = again.case
    case = workflow.acknowledge(cc, case.id, actor="s-care", version=case.version)
    case = workflow.start(cc, case.id, actor="s-care", version=case.version)
    workflow.resolve(cc, case.id, actor="s-care", version=case.version, note="false alarm")
    fresh = workflow.intake_alarm(cc, sos(2, at=clock.advance(minutes=5)))
    assert not fresh.joined
    assert fresh.case.id != case.id


def test_two_processes_taking_the_same_alarm_open_one_case(cases_db: str, clock: FakeClock) -> None:
    """Each round, two connections take the same fingerprint at once: one case opens."""
    for round_ in range(8):
        results = _race(
            cases_db,
            lambda wf, conn, fp=f"sos:r{round_}": wf.intake_alarm(conn, sos(fingerprint=fp)),
            clock,
        )
        ids = {r.case.id for r in results}
        assert len(ids) == 1
        assert sorted(r.joined for r in results) == [False, True]
    with psycopg.connect(cases_db) as conn:
        counts = conn.execute("SELECT alarm_count, version FROM cases").fetchall()
    assert counts == [(2, 3)] * 8


def test_of_two_staff_acting_on_the_same_version_one_wins(
    cc: Conn, cases_db: str, workflow: cases.Workflow, clock: FakeClock
) -> None:
    case = workflow.intake_alarm(cc, sos()).case
    version = case.version

    def acknowledge(wf: cases.Workflow, conn: Conn) -> Any:
        try:
            return wf.acknowledge(conn, case.id, actor="s-care", version=version)
        except cases.VersionConflict as exc:
            return exc

    results = _race(cases_db, acknowledge, clock)
    conflicts = [r for r in results if isinstance(r, cases.VersionConflict)]
    assert len(conflicts) == 1
    assert (conflicts[0].expected, conflicts[0].actual) == (2, 3)
    assert "version 3, not 2" in str(conflicts[0])
    assert [t for t, *_ in history(cc, case.id)].count("acknowledged") == 1
    # Sequentially, a stale version is refused too, before the state is even looked at.
    with pytest.raises(cases.VersionConflict):
        workflow.start(cc, case.id, actor="s-worker2", version=version)


def _race(url: str, act: Callable[[cases.Workflow, Conn], Any], clock: FakeClock) -> list[Any]:
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            wf = cases.Workflow(clock=clock)
            barrier.wait()
            results.append(act(wf, conn))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2
    return results


@pytest.mark.parametrize(
    ("reason", "duplicate_of"),
    [(CancelReason.DUPLICATE, True), (CancelReason.NOT_RESPONSIBLE, False)],
)
def test_a_case_is_cancelled_with_a_reason(
    cc: Conn, workflow: cases.Workflow, reason: CancelReason, duplicate_of: bool
) -> None:
    original = workflow.intake_report(cc, report()).case
    case = workflow.intake_report(cc, report()).case
    case = workflow.cancel(
        cc,
        case.id,
        actor="s-admin",
        version=case.version,
        reason=reason,
        note="same stairwell light" if duplicate_of else "a private flat's wiring",
        duplicate_of=original.id if duplicate_of else None,
    )
    assert case.state is State.CANCELLED
    assert case.supervise_at is None
    event = cases.case_events(cc, case_id=case.id)[-1]
    assert event.detail["reason"] == reason.value
    assert event.detail["duplicate_of"] == (original.id if duplicate_of else None)
    with pytest.raises(cases.IllegalTransition, match="is cancelled: acknowledge is not allowed"):
        workflow.acknowledge(cc, case.id, actor="s-prop", version=case.version)


def test_illegal_transitions_are_refused_and_leave_no_trace(
    cc: Conn, workflow: cases.Workflow, publisher: RecordingPublisher
) -> None:
    case = workflow.intake_report(cc, report()).case
    sent = len(publisher.sent)
    for act, name in [
        (lambda: workflow.close(cc, case.id, actor="s-admin", version=case.version), "close"),
        (
            lambda: workflow.resolve(cc, case.id, actor="s-prop", version=case.version, note="x"),
            "resolve",
        ),
        (lambda: workflow.start(cc, case.id, actor="s-prop", version=case.version), "start"),
        (
            lambda: workflow.rate(cc, case.id, actor="r-1", version=case.version, rating=5),
            "rate",
        ),
        (
            lambda: workflow.reopen(cc, case.id, actor="r-1", version=case.version, reason="x"),
            "reopen",
        ),
    ]:
        with pytest.raises(cases.IllegalTransition) as caught:
            act()
        assert (caught.value.state, caught.value.action) == ("dispatched", name)
        assert str(caught.value) == (
            f"case {case.id} is dispatched: {name} is not allowed in that state"
        )
    assert cases.get_case(cc, case.id).version == case.version == 2
    assert len(publisher.sent) == sent
    with pytest.raises(cases.CaseNotFound):
        workflow.acknowledge(cc, 999_999, actor="s-prop", version=1)
    with pytest.raises(cases.InvalidRequest, match="rating"):
        workflow.rate(cc, case.id, actor="r-1", version=case.version, rating=6)


def test_an_alarm_cleared_is_a_note_on_its_case(cc: Conn, workflow: cases.Workflow) -> None:
    case = workflow.intake_alarm(cc, sos()).case
    cleared = cases.AlarmCleared("sos:sos-1", COMPOUND, {"reset": True}, T0)
    event = workflow.alarm_cleared(cc, cleared)
    assert event is not None
    assert event.transition is Transition.ALARM_CLEARED
    assert (event.case_id, event.from_state, event.to_state) == (
        case.id,
        State.DISPATCHED,
        State.DISPATCHED,
    )
    assert event.actor == "system:cases"
    assert workflow.alarm_cleared(cc, cases.AlarmCleared("nope", COMPOUND, {}, T0)) is None


def test_a_case_cannot_be_reopened_beside_a_newer_open_case(
    cc: Conn, workflow: cases.Workflow
) -> None:
    case = workflow.intake_alarm(cc, sos()).case
    case = workflow.acknowledge(cc, case.id, actor="s-care", version=case.version)
    case = workflow.start(cc, case.id, actor="s-care", version=case.version)
    case = workflow.resolve(cc, case.id, actor="s-care", version=case.version, note="ok")
    workflow.intake_alarm(cc, sos(1))  # pressed again: a new case
    with pytest.raises(cases.DuplicateOpenCase):
        workflow.reopen(cc, case.id, actor="s-admin", version=case.version, reason="again")


def test_the_history_is_append_only(cc: Conn, workflow: cases.Workflow) -> None:
    workflow.intake_alarm(cc, sos())
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        cc.execute("UPDATE case_events SET actor = 'someone else'")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        cc.execute("DELETE FROM case_events")


def test_transitions_are_notified_in_commit_order(
    cases_db: str, cc: Conn, workflow: cases.Workflow
) -> None:
    with psycopg.connect(cases_db, autocommit=True) as listener:
        listener.execute(f"LISTEN {cases.NOTIFY_CHANNEL}")
        workflow.intake_alarm(cc, sos())
        notes = list(listener.notifies(timeout=5, stop_after=1))
    ids = [e.id for e in cases.case_events(cc)]
    assert ids == sorted(ids)
    assert len(ids) == 2
    assert notes[0].payload == str(ids[-1])
    assert [e.id for e in cases.case_events(cc, after_id=ids[0])] == ids[1:]


def test_a_connection_inside_a_transaction_is_refused(
    cases_db: str, workflow: cases.Workflow
) -> None:
    with psycopg.connect(cases_db) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(cases.CasesError, match="outside a transaction"):
            workflow.intake_alarm(conn, sos())
