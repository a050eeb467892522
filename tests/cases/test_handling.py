"""Case handling against a real PostgreSQL: re-dispatch and transfer, a co-handling
party, assignment to a named person and claims, the first responsible person, and
merged duplicates; each refusal with the reason a handler reads."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from psycopg.types.json import Jsonb

import cases
import registry
from cases import State, Transition
from domain import CompoundFile, Party, PartyKind, Staff, StaffRole
from tests.cases.conftest import T0, Conn, FakeClock, RecordingPublisher, report, sos
from tests.factories import COMPOUND, ELDER_FLAT, compound

MINOR_ACK = cases.DEFAULT_SLA[("*", "minor")].acknowledge


def last(conn: Conn, case_id: int) -> cases.CaseEvent:
    return cases.case_events(conn, case_id=case_id)[-1]


def parties(case: cases.Case) -> set[tuple[str, str | None, str | None]]:
    return {(a.party_kind, a.party_id, a.staff_id) for a in case.assignments}


def other_compound(cc: Conn) -> None:
    """c2 next door, with a property company and a staff member of its own."""
    c2 = compound(
        id="c2",
        households=[],
        grids=[],
        devices=[],
        parties=[Party(id="p-c2", kind=PartyKind.PROPERTY_COMPANY, name="Next door")],
        staff=[Staff(id="s-c2", name="Other", role=StaffRole.PROPERTY_STAFF, party="p-c2")],
    )
    registry.load(cc, CompoundFile(compounds=[c2]), actor="test:setup", now=T0)


# --- re-dispatch and transfer -------------------------------------------------------------


def test_a_redispatch_replaces_every_party_and_restarts_only_the_response_clock(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    case = workflow.intake_report(cc, report()).case
    assert parties(case) == {("property_company", "p-property", None)}
    case = workflow.acknowledge(cc, case.id, actor="fixer", version=case.version, staff_id="s-prop")
    acknowledged_at = case.acknowledged_at
    now = clock.advance(hours=2)

    moved = workflow.redispatch(
        cc,
        case.id,
        actor="desk",
        version=case.version,
        parties=["p-rc", "p-owners"],
        reason="a dispute between neighbours, not a repair",
    )

    assert moved.state is State.DISPATCHED
    assert parties(moved) == {
        ("residents_committee", "p-rc", None),
        ("owners_committee", "p-owners", None),
    }
    # The new parties have the acknowledge window from now; the case keeps its age.
    assert moved.supervise_at == now + MINOR_ACK
    assert (moved.opened_at, moved.ack_due, moved.resolve_due) == (
        case.opened_at,
        case.ack_due,
        case.resolve_due,
    )
    assert moved.acknowledged_at == acknowledged_at
    assert moved.first_responsible == "s-prop"  # 首问负责 follows the case
    event = last(cc, case.id)
    assert (event.transition, event.from_state, event.to_state) == (
        Transition.REDISPATCHED,
        State.ACKNOWLEDGED,
        State.DISPATCHED,
    )
    assert event.detail["reason"] == "a dispute between neighbours, not a repair"
    assert [p["party"] for p in event.detail["from"]] == ["p-property"]
    assert event.detail["respond_by"] == (now + MINOR_ACK).isoformat()

    # The new party acknowledges as after any dispatch.
    acked = workflow.acknowledge(cc, case.id, actor="rc", version=moved.version)
    assert acked.state is State.ACKNOWLEDGED


def test_a_missed_response_after_a_handover_escalates_from_the_handover(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    case = workflow.intake_report(cc, report()).case
    clock.advance(minutes=50)
    case = workflow.transfer(
        cc, case.id, actor="desk", version=case.version, party="p-rc", reason="wrong desk"
    )
    # Past the case's own ack_due, but within the new party's window: no escalation.
    assert workflow.escalate_if_due(cc, case.id, clock.advance(minutes=20)) == []
    escalated = workflow.escalate_if_due(cc, case.id, clock.advance(minutes=45))
    assert [e.detail["missed"] for e in escalated] == ["acknowledge"]


def test_redispatch_refusals(cc: Conn, workflow: cases.Workflow) -> None:
    other_compound(cc)
    case = workflow.intake_report(cc, report()).case
    for wanted, reason in (
        (["p-c2"], "p-c2 is not a party serving compound c1"),
        (["p-nowhere"], "p-nowhere is not a party serving compound c1"),
        (["p-property"], "with exactly these already"),
        (["p-rc", "p-rc"], "each once"),
    ):
        with pytest.raises(cases.InvalidRequest, match=reason):
            workflow.redispatch(
                cc, case.id, actor="desk", version=case.version, parties=wanted, reason="x"
            )
    with pytest.raises(cases.InvalidRequest, match="reason"):
        workflow.redispatch(
            cc, case.id, actor="d", version=case.version, parties=["p-rc"], reason=" "
        )
    assert cases.get_case(cc, case.id) == case  # nothing of the refused ones stuck


def test_a_transfer_hands_one_share_over_and_keeps_the_others(
    cc: Conn, workflow: cases.Workflow
) -> None:
    case = workflow.intake_alarm(cc, sos()).case  # care centre + grid team g2
    with pytest.raises(cases.InvalidRequest, match="name the kind handing it over"):
        workflow.transfer(cc, case.id, actor="d", version=case.version, party="p-rc", reason="r")
    with pytest.raises(cases.InvalidRequest, match="already has a elderly_care_centre"):
        # (a second care centre cannot take the grid team's share)
        workflow.transfer(
            cc,
            case.id,
            actor="d",
            version=case.version,
            party="p-care",
            reason="r",
            from_kind="grid_team",
        )
    moved = workflow.transfer(
        cc,
        case.id,
        actor="s-worker2",
        version=case.version,
        party="p-rc",
        reason="the grid worker is on leave",
        from_kind="grid_team",
    )
    assert parties(moved) == {
        ("elderly_care_centre", "p-care", None),
        ("residents_committee", "p-rc", None),
    }
    event = last(cc, case.id)
    assert event.transition is Transition.TRANSFERRED
    assert event.detail["from"] == [
        {"party_kind": "grid_team", "party": None, "grid": "g2", "staff": "s-worker2"}
    ]
    with pytest.raises(cases.InvalidRequest, match="is with p-rc already"):
        workflow.transfer(
            cc,
            case.id,
            actor="d",
            version=moved.version,
            party="p-rc",
            reason="r",
            from_kind="residents_committee",
        )
    with pytest.raises(cases.InvalidRequest, match="not with a community_police"):
        workflow.transfer(
            cc,
            case.id,
            actor="d",
            version=moved.version,
            party="p-rc",
            reason="r",
            from_kind="community_police",
        )


def test_a_transfer_to_a_party_of_another_compound_is_refused(
    cc: Conn, workflow: cases.Workflow
) -> None:
    other_compound(cc)
    case = workflow.intake_report(cc, report()).case
    with pytest.raises(cases.InvalidRequest, match="p-c2 is not a party serving compound c1"):
        workflow.transfer(cc, case.id, actor="d", version=case.version, party="p-c2", reason="r")


def test_a_done_case_is_not_transferred(cc: Conn, workflow: cases.Workflow) -> None:
    case = _resolved(cc, workflow)
    with pytest.raises(cases.IllegalTransition, match="resolved: transfer is not allowed"):
        workflow.transfer(cc, case.id, actor="d", version=case.version, party="p-rc", reason="r")
    with pytest.raises(cases.IllegalTransition, match="re-dispatch"):
        workflow.redispatch(
            cc, case.id, actor="d", version=case.version, parties=["p-rc"], reason="r"
        )


# --- a co-handling party --------------------------------------------------------------------


def test_a_co_handling_party_joins_without_moving_the_case(
    cc: Conn, workflow: cases.Workflow
) -> None:
    case = workflow.intake_report(cc, report()).case
    case = workflow.acknowledge(cc, case.id, actor="fixer", version=case.version)
    joined = workflow.add_party(
        cc, case.id, actor="fixer", version=case.version, party="p-police", note="a break-in?"
    )
    assert joined.state is State.ACKNOWLEDGED
    assert joined.supervise_at == case.supervise_at
    assert parties(joined) == {
        ("property_company", "p-property", None),
        ("community_police", "p-police", None),
    }
    event = last(cc, case.id)
    assert event.transition is Transition.PARTY_ADDED
    assert event.detail["party"]["party"] == "p-police"
    with pytest.raises(cases.InvalidRequest, match="already has a community_police"):
        workflow.add_party(cc, case.id, actor="f", version=joined.version, party="p-police")
    with pytest.raises(cases.InvalidRequest, match="not a party serving compound c1"):
        workflow.add_party(cc, case.id, actor="f", version=joined.version, party="p-nowhere")


# --- people: assign, claim, first responsible -------------------------------------------------


def test_assign_names_a_staff_member_of_a_dispatched_party(
    cc: Conn, workflow: cases.Workflow
) -> None:
    other_compound(cc)
    case = workflow.intake_alarm(cc, sos()).case  # care centre + grid team g2
    assigned = workflow.assign(cc, case.id, actor="lead", version=case.version, staff_id="s-care")
    assert ("elderly_care_centre", "p-care", "s-care") in parties(assigned)
    assert assigned.first_responsible == "s-care"
    # A grid team's people are its team members.
    assigned = workflow.assign(
        cc, case.id, actor="lead", version=assigned.version, staff_id="s-cadre2"
    )
    assert ("grid_team", None, "s-cadre2") in parties(assigned)
    assert assigned.first_responsible == "s-care"  # the first one stays
    event = last(cc, case.id)
    assert (event.transition, event.detail["staff"], event.detail["party_kind"]) == (
        Transition.ASSIGNED,
        "s-cadre2",
        "grid_team",
    )
    for staff, reason in (
        ("s-prop", "s-prop is of party p-property, not of a party case"),
        ("s-cadre1", "s-cadre1 is of party p-rc, not of a party case"),  # grid g1's team
        ("s-c2", "s-c2 is not staff serving compound c1"),
        ("s-nobody", "s-nobody is not staff serving compound c1"),
    ):
        with pytest.raises(cases.InvalidRequest, match=reason):
            workflow.assign(cc, case.id, actor="lead", version=assigned.version, staff_id=staff)


def test_a_claim_records_the_claimant_and_a_second_claim_is_refused(
    cc: Conn, workflow: cases.Workflow
) -> None:
    case = workflow.intake_report(cc, report()).case  # property company, grid g1
    # A party-member volunteer of the residents' committee claims it (党员先锋 认领).
    claimed = workflow.claim(cc, case.id, actor="vol", version=case.version, staff_id="s-vol1")
    assert (claimed.claimed_by, claimed.first_responsible) == ("s-vol1", "s-vol1")
    assert parties(claimed) == {("property_company", "p-property", None)}  # helps beside it
    assert last(cc, case.id).transition is Transition.CLAIMED
    with pytest.raises(cases.AlreadyClaimed, match="already claimed by s-vol1"):
        workflow.claim(cc, case.id, actor="fixer", version=claimed.version, staff_id="s-prop")
    with pytest.raises(cases.VersionConflict):
        workflow.claim(cc, case.id, actor="fixer", version=case.version, staff_id="s-prop")


def test_a_claimant_of_the_dispatched_party_becomes_its_handler(
    cc: Conn, workflow: cases.Workflow
) -> None:
    case = workflow.intake_report(cc, report()).case
    claimed = workflow.claim(cc, case.id, actor="fixer", version=case.version, staff_id="s-prop")
    assert parties(claimed) == {("property_company", "p-property", "s-prop")}
    # A transfer lets the claim go: the new party's people claim it anew.
    moved = workflow.transfer(
        cc, case.id, actor="d", version=claimed.version, party="p-rc", reason="r"
    )
    assert (moved.claimed_by, moved.first_responsible) == (None, "s-prop")


def test_closed_and_cancelled_cases_cannot_be_claimed(cc: Conn, workflow: cases.Workflow) -> None:
    other_compound(cc)
    done = _resolved(cc, workflow)
    done = workflow.close(cc, done.id, actor="grid", version=done.version)
    with pytest.raises(cases.IllegalTransition, match="closed: claim is not allowed"):
        workflow.claim(cc, done.id, actor="vol", version=done.version, staff_id="s-vol1")
    dropped = workflow.intake_report(cc, report()).case
    dropped = workflow.cancel(
        cc,
        dropped.id,
        actor="desk",
        version=dropped.version,
        reason=cases.CancelReason.NOT_RESPONSIBLE,
        note="not ours",
    )
    with pytest.raises(cases.IllegalTransition, match="cancelled: claim is not allowed"):
        workflow.claim(cc, dropped.id, actor="vol", version=dropped.version, staff_id="s-vol1")
    fresh = workflow.intake_report(cc, report()).case
    with pytest.raises(cases.InvalidRequest, match="s-c2 is not staff serving compound c1"):
        workflow.claim(cc, fresh.id, actor="x", version=fresh.version, staff_id="s-c2")


def test_the_first_to_acknowledge_is_first_responsible(cc: Conn, workflow: cases.Workflow) -> None:
    case = workflow.intake_alarm(cc, sos()).case
    case = workflow.acknowledge(cc, case.id, actor="u", version=case.version, staff_id="s-care")
    case = workflow.assign(cc, case.id, actor="lead", version=case.version, staff_id="s-worker2")
    assert case.first_responsible == "s-care"
    # An acknowledgement by an account that is no staff member names nobody.
    other = workflow.intake_report(cc, report()).case
    other = workflow.acknowledge(cc, other.id, actor="admin", version=other.version)
    assert other.first_responsible is None


# --- merged duplicates ------------------------------------------------------------------------


def test_a_duplicate_merges_into_an_open_case_with_its_alarms(
    cc: Conn, workflow: cases.Workflow, clock: FakeClock
) -> None:
    survivor = workflow.intake_report(cc, report("elderly_care", ELDER_FLAT)).case
    alarm = _stored_sos(cc)
    duplicate = workflow.intake_alarm(cc, dataclasses.replace(sos(), alarm_id=alarm)).case
    clock.advance(minutes=3)

    merged = workflow.merge(
        cc, duplicate.id, actor="desk", version=duplicate.version, into=survivor.id, note="same"
    )

    assert (merged.state, merged.merged_into, merged.supervise_at) == (
        State.MERGED,
        survivor.id,
        None,
    )
    after = cases.get_case(cc, survivor.id)
    assert after.state is State.DISPATCHED
    assert after.alarm_count == survivor.alarm_count + duplicate.alarm_count
    assert after.version == survivor.version + 1
    ended, joined = last(cc, duplicate.id), last(cc, survivor.id)
    assert (ended.transition, ended.detail["into"], ended.detail["alarms"]) == (
        Transition.MERGED,
        survivor.id,
        [alarm],
    )
    assert (joined.transition, joined.detail["duplicate"], joined.detail["alarms"]) == (
        Transition.MERGED_IN,
        duplicate.id,
        [alarm],
    )
    assert joined.id == ended.id + 1  # one transaction, in commit order
    taken = cc.execute("SELECT case_id FROM alarm_intakes WHERE alarm_id = %s", (alarm,))
    assert taken.fetchone() == (survivor.id,)
    assert cases.merged_cases(cc, survivor.id) == [duplicate.id]
    # The duplicate is over; a merged case is not due in the KPIs, its survivor is.
    with pytest.raises(cases.IllegalTransition, match="merged: acknowledge is not allowed"):
        workflow.acknowledge(cc, duplicate.id, actor="x", version=merged.version)
    (kpi,) = cases.kpis(
        cc,
        since=T0 - timedelta(days=1),
        until=T0 + timedelta(days=1),
        by=cases.KpiDimension.COMPOUND,
    )
    assert (kpi.received, kpi.due) == (2, 1)


def test_merge_refusals(cc: Conn, workflow: cases.Workflow) -> None:
    other_compound(cc)
    case = workflow.intake_report(cc, report()).case
    elsewhere = workflow.intake_report(cc, dataclasses.replace(report(), compound="c2")).case
    with pytest.raises(cases.InvalidRequest, match="merge only within a compound"):
        workflow.merge(cc, case.id, actor="d", version=case.version, into=elsewhere.id, note="n")
    closed = workflow.close(
        cc, (done := _resolved(cc, workflow)).id, actor="g", version=done.version
    )
    with pytest.raises(cases.IllegalTransition, match=f"case {closed.id} is closed: merge into"):
        workflow.merge(cc, case.id, actor="d", version=case.version, into=closed.id, note="n")
    with pytest.raises(cases.IllegalTransition, match=f"case {closed.id} is closed: merge is not"):
        workflow.merge(cc, closed.id, actor="d", version=closed.version, into=case.id, note="n")
    with pytest.raises(cases.InvalidRequest, match="into itself"):
        workflow.merge(cc, case.id, actor="d", version=case.version, into=case.id, note="n")
    with pytest.raises(cases.CaseNotFound):
        workflow.merge(cc, case.id, actor="d", version=case.version, into=424242, note="n")
    with pytest.raises(cases.VersionConflict):
        workflow.merge(cc, case.id, actor="d", version=1, into=elsewhere.id, note="n")
    assert cases.get_case(cc, case.id) == case


def test_every_new_transition_is_on_the_timeline_and_the_stream(
    cc: Conn, workflow: cases.Workflow, publisher: RecordingPublisher
) -> None:
    a = workflow.intake_report(cc, report()).case
    b = workflow.intake_report(cc, report()).case
    a = workflow.add_party(cc, a.id, actor="d", version=a.version, party="p-rc")
    a = workflow.assign(cc, a.id, actor="d", version=a.version, staff_id="s-prop")
    a = workflow.claim(cc, a.id, actor="d", version=a.version, staff_id="s-vol1")
    a = workflow.transfer(
        cc,
        a.id,
        actor="d",
        version=a.version,
        party="p-owners",
        reason="r",
        from_kind="residents_committee",
    )
    a = workflow.redispatch(cc, a.id, actor="d", version=a.version, parties=["p-rc"], reason="r")
    workflow.merge(cc, b.id, actor="d", version=b.version, into=a.id, note="n")
    names = [e.transition.value for e in cases.case_events(cc, case_id=a.id)]
    assert names[2:] == [
        "party_added",
        "assigned",
        "claimed",
        "transferred",
        "redispatched",
        "merged_in",
    ]
    assert [e.version for e in cases.case_events(cc, case_id=a.id)] == list(range(1, 9))
    topics = publisher.topics
    assert f"dayuan/v1/{COMPOUND}/cases/{b.id}/merged" in topics
    assert f"dayuan/v1/{COMPOUND}/cases/{a.id}/merged_in" in topics


def _resolved(cc: Conn, workflow: cases.Workflow) -> cases.Case:
    case = workflow.intake_report(cc, report()).case
    case = workflow.acknowledge(cc, case.id, actor="f", version=case.version)
    case = workflow.start(cc, case.id, actor="f", version=case.version)
    return workflow.resolve(cc, case.id, actor="f", version=case.version, note="fixed")


def _stored_sos(cc: Conn) -> int:
    """An SOS alarm row as the rule engine writes it (intake records it taken)."""
    row = cc.execute(
        "INSERT INTO alarms (fingerprint, rule_id, rule_version, title, severity, compound_id,"
        " device_id, flat, subject, first_seen, last_seen, opened_at, updated_at, trigger_values)"
        " VALUES ('sos:sos-1', 'sos', 1, 'SOS button pressed', 'critical', %s, 'sos-1', %s,"
        " 'sos-1', %s, %s, %s, %s, %s) RETURNING id",
        (COMPOUND, ELDER_FLAT, T0, T0, T0, T0, Jsonb({"press": 0})),
    ).fetchone()
    assert row is not None
    return int(row[0])
