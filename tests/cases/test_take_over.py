"""An upper rung takes a case over (issue 20), against a real PostgreSQL: its party
replaces every party and its staff member claims the case in one transaction, both
records marked `take_over` with the rung reached; a claimant of another party, a case
with that party alone already and a closed case are refused, and leave the case as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

import cases
from tests.cases.conftest import Conn, FakeClock, report

REASON = "three escalations without a visit: the committee takes it"


def climbed(cc: Conn, workflow: cases.Workflow, rungs: int) -> cases.Case:
    case = workflow.intake_report(cc, report()).case
    for _ in range(rungs):
        assert case.supervise_at is not None
        workflow.escalate_if_due(cc, case.id, case.supervise_at + timedelta(seconds=1))
        case = cases.get_case(cc, case.id)
    return case


def test_the_committee_takes_a_case_over_and_its_member_claims_it(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    case = climbed(cc, workflow, 2)
    assert case.rung is cases.Rung.COMMUNITY
    now = clock.advance(hours=5)
    taken = workflow.take_over(
        cc,
        case.id,
        actor="u-rc",
        version=case.version,
        party="p-rc",
        reason=REASON,
        staff_id="s-admin",
    )
    assert [(a.party_kind, a.party_id, a.staff_id) for a in taken.assignments] == [
        ("residents_committee", "p-rc", "s-admin")
    ]
    assert (taken.state, taken.claimed_by, taken.version) == (
        cases.State.DISPATCHED,
        "s-admin",
        case.version + 2,
    )
    assert taken.rung is cases.Rung.COMMUNITY  # the rung reached stays
    assert taken.supervise_at is not None
    assert taken.supervise_at > now  # the response clock restarts for the committee
    moved, claimed = cases.case_events(cc, case_id=case.id)[-2:]
    assert (moved.transition, moved.actor) == (cases.Transition.REDISPATCHED, "u-rc")
    assert (moved.detail["take_over"], moved.detail["rung"], moved.detail["reason"]) == (
        True,
        "community",
        REASON,
    )
    assert [p["party"] for p in moved.detail["from"]] == ["p-property"]
    assert (claimed.transition, claimed.detail["staff"]) == (cases.Transition.CLAIMED, "s-admin")


def test_refusals_leave_the_case_as_it_was(cc: Conn, workflow: cases.Workflow) -> None:
    case = climbed(cc, workflow, 1)
    with pytest.raises(cases.InvalidRequest, match="s-prop is not of party p-rc"):
        workflow.take_over(
            cc,
            case.id,
            actor="u",
            version=case.version,
            party="p-rc",
            reason=REASON,
            staff_id="s-prop",
        )
    assert cases.get_case(cc, case.id) == case
    taken = workflow.take_over(
        cc, case.id, actor="u", version=case.version, party="p-rc", reason=REASON
    )
    assert taken.claimed_by is None  # no staff member named: taken over, not claimed
    with pytest.raises(cases.InvalidRequest, match="is with p-rc alone already"):
        workflow.take_over(
            cc, case.id, actor="u", version=taken.version, party="p-rc", reason=REASON
        )
    for step, extra in (("acknowledge", {}), ("start", {}), ("resolve", {"note": "done"})):
        taken = getattr(workflow, step)(cc, case.id, actor="u", version=taken.version, **extra)
    closed = workflow.close(cc, case.id, actor="u", version=taken.version)
    with pytest.raises(cases.IllegalTransition):
        workflow.take_over(
            cc, case.id, actor="u", version=closed.version, party="p-rc", reason=REASON
        )
