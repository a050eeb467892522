"""Closing in the follow-up visit mode (复诊): the `closed` record says so, for the care
programmes to schedule the visit; a plain closing says nothing of it."""

from __future__ import annotations

import cases
from cases import Transition
from tests.cases.conftest import Conn, report


def _resolved(cc: Conn, workflow: cases.Workflow) -> cases.Case:
    case = workflow.intake_report(cc, report()).case
    case = workflow.acknowledge(cc, case.id, actor="f", version=case.version)
    case = workflow.start(cc, case.id, actor="f", version=case.version)
    return workflow.resolve(cc, case.id, actor="f", version=case.version, note="fixed")


def _closed_detail(cc: Conn, case_id: int) -> dict[str, object]:
    [closed] = [
        e for e in cases.case_events(cc, case_id=case_id) if e.transition is Transition.CLOSED
    ]
    return dict(closed.detail)


def test_a_closing_in_the_follow_up_mode_records_the_mode(
    cc: Conn, workflow: cases.Workflow
) -> None:
    asked = _resolved(cc, workflow)
    workflow.close(cc, asked.id, actor="f", version=asked.version, note="see", follow_up=True)
    assert _closed_detail(cc, asked.id) == {"note": "see", "mode": "follow_up_visit"}
    plain = _resolved(cc, workflow)
    workflow.close(cc, plain.id, actor="f", version=plain.version)
    assert _closed_detail(cc, plain.id) == {"note": None}
