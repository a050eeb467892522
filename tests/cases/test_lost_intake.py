"""The alarms table is the outbox of case intake: an alarm the rule engine stored but
whose case never committed (the database was down, then the process died with its
retry in memory) is taken in by the supervisor's next pass; an alarm is taken in once.

T0            T0+59s              T0+60s                      T0+2min
| SOS stored  | not yet: the      | the supervisor opens      | again: nothing more
| no case     | engine may retry  | its case (and the note    | (alarm_intakes holds it)
|             |                   |  if it has cleared)       |
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from psycopg.types.json import Jsonb

import cases
from cases import State, Transition
from tests.cases.conftest import T0, Conn, FakeClock, sos
from tests.factories import COMPOUND, ELDER_FLAT


def _store_alarm(cc: Conn, *, opened_at: datetime = T0, cleared_at: datetime | None = None) -> int:
    """An SOS alarm row as the rule engine writes it."""
    row = cc.execute(
        "INSERT INTO alarms (fingerprint, rule_id, rule_version, title, severity, compound_id,"
        " device_id, flat, subject, first_seen, last_seen, opened_at, updated_at, cleared_at,"
        " trigger_values, clear_values) VALUES ('sos:sos-1', 'sos', 1, 'SOS button pressed',"
        " 'critical', %s, 'sos-1', %s, 'sos-1', %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            COMPOUND,
            ELDER_FLAT,
            opened_at,
            opened_at,
            opened_at,
            opened_at,
            cleared_at,
            Jsonb({"press": 0}),
            Jsonb({"reset": True}) if cleared_at else None,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _cases(cc: Conn) -> list[tuple[int, str]]:
    return [(int(r[0]), str(r[1])) for r in cc.execute("SELECT id, state FROM cases").fetchall()]


def test_a_stored_alarm_without_its_case_is_taken_in_by_the_supervisor(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    alarm = _store_alarm(cc)
    supervisor = cases.Supervisor(cc, workflow=workflow, clock=clock)
    supervisor.run_once(T0 + timedelta(seconds=59))
    assert _cases(cc) == []  # within the grace: the engine's own retry may still land
    clock.advance(seconds=60)
    supervisor.run_once(T0 + timedelta(seconds=60))
    [(case_id, state)] = _cases(cc)
    assert state == State.DISPATCHED.value
    case = cases.get_case(cc, case_id)
    assert (case.fingerprint, case.category, case.opened_at) == ("sos:sos-1", "sos", T0)
    assert case.ack_due == T0 + timedelta(seconds=60)  # the SLA runs from the alarm
    taken = cc.execute("SELECT case_id FROM alarm_intakes WHERE alarm_id = %s", (alarm,))
    assert taken.fetchall() == [(case_id,)]
    supervisor.run_once(T0 + timedelta(minutes=2))
    assert _cases(cc) == [(case_id, state)]  # taken in once
    transitions = [e.transition for e in cases.case_events(cc, case_id=case_id)]
    assert transitions.count(Transition.OPENED) == 1
    assert Transition.JOINED not in transitions


def test_an_alarm_that_cleared_meanwhile_gets_its_case_and_the_note(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    _store_alarm(cc, cleared_at=T0 + timedelta(seconds=30))
    clock.advance(minutes=5)
    cases.Supervisor(cc, workflow=workflow, clock=clock).run_once(clock.now())
    [(case_id, _)] = _cases(cc)
    transitions = [e.transition for e in cases.case_events(cc, case_id=case_id)]
    assert Transition.ALARM_CLEARED in transitions


def test_an_alarm_is_taken_in_once_however_many_notices_arrive(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    alarm = _store_alarm(cc)
    notice = replace(sos(), alarm_id=alarm)
    first = workflow.intake_alarm(cc, notice)
    again = workflow.intake_alarm(cc, notice)  # the engine's retry after a lost reply
    assert not first.joined
    assert (again.case.id, again.events) == (first.case.id, ())
    assert first.case.alarm_count == again.case.alarm_count == 1
    clock.advance(minutes=5)
    cases.Supervisor(cc, workflow=workflow, clock=clock).run_once(clock.now())
    assert _cases(cc) == [(first.case.id, State.DISPATCHED.value)]


def test_alarms_older_than_the_lookback_are_left_alone(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    _store_alarm(cc)
    clock.advance(days=2)
    cases.Supervisor(cc, workflow=workflow, clock=clock).run_once(clock.now())
    assert _cases(cc) == []
