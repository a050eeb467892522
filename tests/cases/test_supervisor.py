"""Supervision with an injected clock: a missed deadline climbs the ladder, one rung a pass.

T0        T0+60s          T0+120s          T0+180s
|  SOS    |  ack missed   |  still not     |  still not
|  opened |  -> grid lead |  -> community  |  -> subdistrict (top: no more)
"""

from __future__ import annotations

import threading
from datetime import timedelta

import cases
from cases import State
from tests.cases.conftest import T0, Conn, FakeClock, RecordingPublisher, report, sos


def test_an_unanswered_sos_climbs_the_ladder(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    case = workflow.intake_alarm(cc, sos()).case
    supervisor = cases.Supervisor(cc, workflow=workflow, clock=clock)
    assert supervisor.run_once(T0 + timedelta(seconds=59)) == []

    climbed = []
    for seconds in (60, 60, 120, 180, 36_000):
        for event in supervisor.run_once(T0 + timedelta(seconds=seconds)):
            climbed.append((seconds, event.detail["rung"], event.detail["notify"]))
    assert climbed == [
        (60, "grid_lead", {"grid": "g2", "staff": "s-cadre2"}),
        (120, "community", {"party": "p-rc"}),
        (180, "subdistrict", {"level": "subdistrict", "party": None}),
    ]
    case = cases.get_case(cc, case.id)
    assert (case.escalation_level, case.escalations, case.rung) == (3, 3, cases.Rung.SUBDISTRICT)
    assert case.supervise_at is None
    escalated = [t for t in publisher.topics if t.endswith("/escalated")]
    assert len(escalated) == 3
    first = cases.case_events(cc, case_id=case.id)[2]
    assert (first.actor, first.detail["missed"], first.detail["due"]) == (
        "system:supervisor",
        "acknowledge",
        (T0 + timedelta(seconds=60)).isoformat(),
    )
    # At the top of the ladder, acknowledging leaves nothing more to escalate to.
    case = workflow.acknowledge(cc, case.id, actor="s-care", version=case.version)
    assert case.state is State.ACKNOWLEDGED
    assert case.supervise_at is None


def test_a_missed_resolution_escalates_after_an_acknowledgement_in_time(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    case = workflow.intake_report(cc, report()).case
    clock.advance(minutes=30)
    case = workflow.acknowledge(cc, case.id, actor="s-prop", version=case.version)
    assert case.supervise_at == case.resolve_due == T0 + timedelta(hours=24)
    supervisor = cases.Supervisor(cc, workflow=workflow, clock=clock)
    assert supervisor.run_once(T0 + timedelta(hours=23)) == []
    (event,) = supervisor.run_once(T0 + timedelta(hours=24))
    assert (event.detail["missed"], event.detail["rung"], event.from_state) == (
        "resolve",
        "grid_lead",
        State.ACKNOWLEDGED,
    )
    assert event.detail["notify"] == {"grid": "g1", "staff": "s-cadre1"}
    # The next rung gets the same window again.
    assert cases.get_case(cc, case.id).supervise_at == T0 + timedelta(hours=48)
    # A second supervisor on the same instant finds the case already moved on.
    other = cases.Supervisor(cc, workflow=workflow, clock=clock)
    assert other.run_once(T0 + timedelta(hours=24)) == []


def test_resolved_and_cancelled_cases_are_not_watched(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    case = workflow.intake_alarm(cc, sos()).case
    case = workflow.acknowledge(cc, case.id, actor="s-care", version=case.version)
    case = workflow.start(cc, case.id, actor="s-care", version=case.version)
    workflow.resolve(cc, case.id, actor="s-care", version=case.version, note="ok")
    other = workflow.intake_report(cc, report()).case
    workflow.cancel(
        cc,
        other.id,
        actor="s-admin",
        version=other.version,
        reason=cases.CancelReason.NOT_RESPONSIBLE,
        note="private wiring",
    )
    supervisor = cases.Supervisor(cc, workflow=workflow, clock=clock)
    assert supervisor.run_once(T0 + timedelta(days=30)) == []


class _StoppingClock(FakeClock):
    """Sets `stop` when read: the loop runs exactly one pass, without sleeping."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(T0 + timedelta(minutes=5))
        self.stop = stop

    def now(self) -> object:  # type: ignore[override]
        self.stop.set()
        return self.at


def test_the_loop_runs_a_pass_and_stops(cc: Conn, workflow: cases.Workflow) -> None:
    case = workflow.intake_alarm(cc, sos()).case
    stop = threading.Event()
    supervisor = cases.Supervisor(cc, workflow=workflow, clock=_StoppingClock(stop))
    supervisor.run(stop, interval_s=3600)
    assert cases.get_case(cc, case.id).escalation_level == 1


def test_watching_from_a_start_leaves_deadlines_already_gone_to_the_operator(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    """`dayuan up` replays history: an SOS an hour before the start was overdue before
    the supervisor began to watch, and is shown as it is, not escalated in the first pass;
    an SOS from after the start climbs as usual.

    T0     T0+60s (replayed SOS's ack due)   START=T0+1h   +30s SOS   +90s its ack due
    |------x---------------------------------|-------------x----------x---> escalated
    """
    start = T0 + timedelta(hours=1)
    replayed = workflow.intake_alarm(cc, sos()).case
    live = workflow.intake_alarm(
        cc, sos(at=start + timedelta(seconds=30), fingerprint="sos:sos-2")
    ).case
    watching = cases.Supervisor(cc, workflow=workflow, clock=clock, watch_from=start)
    assert watching.run_once(start + timedelta(seconds=60)) == []
    (event,) = watching.run_once(start + timedelta(seconds=90))
    assert event.case_id == live.id
    assert cases.get_case(cc, replayed.id).escalations == 0
    # Without `watch_from` (the standalone supervisor), a missed deadline is still missed.
    everything = cases.Supervisor(cc, workflow=workflow, clock=clock)
    assert [e.case_id for e in everything.run_once(start + timedelta(seconds=90))] == [replayed.id]
