"""The workflow: intake, dispatch, handling, supervision steps, feedback and close.

Every public method runs one transaction of its own: it locks the case, checks the
version the caller based the action on (optimistic concurrency: of two staff acting
on version N one wins, the other gets `VersionConflict`), checks the state machine,
updates the case row and appends the history records, then commits and publishes.
The case row is a cache of its history, kept consistent in that one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import registry
from cases import _store as store
from cases._db import Conn, transaction
from cases._errors import (
    AlreadyClaimed,
    CaseStoreError,
    DuplicateOpenCase,
    InvalidRequest,
    VersionConflict,
)
from cases._model import (
    LADDER,
    OPEN_STATES,
    SUPERVISOR_ACTOR,
    SYSTEM_ACTOR,
    TOP_LEVEL,
    Action,
    ActionMode,
    AlarmCleared,
    AlarmNotice,
    Assignment,
    CancelReason,
    Case,
    CaseEvent,
    Intake,
    Report,
    Rung,
    Source,
    State,
    Transition,
)
from cases._policy import DEFAULT_POLICY, Policy
from cases._states import next_state
from cases._stream import NoPublisher, Publisher, payload_for, topic_for
from domain import Clock, PartyKind, Severity

# An intake that loses the race for a fingerprint twice in a row (the open case was
# closed between our insert and our join) is a storm worth a loud error, not a loop.
INTAKE_ATTEMPTS = 3
# A stored alarm still not taken in this long after it opened lost its intake: intake
# takes milliseconds, and a minute leaves the rule engine's own in-memory retry its turn.
MISSED_INTAKE_GRACE = timedelta(minutes=1)
# How far back lost intakes are looked for: a day outlasts any outage in which a process
# could have died holding one.
MISSED_INTAKE_LOOKBACK = timedelta(days=1)
_FLAT = re.compile(r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")
_WATCHED_FOR_ACK = frozenset({State.DISPATCHED, State.REOPENED})


@dataclass(frozen=True, slots=True)
class _Step:
    transition: Transition
    detail: Mapping[str, Any] = field(default_factory=dict)
    changes: Mapping[str, Any] = field(default_factory=dict)


Steps = Callable[[Case, datetime], list[_Step]]
# What another package writes inside an intake's transaction, given the new case's id.
Alongside = Callable[[Conn, int], None]


class Workflow:
    """The case workflow, bound to a clock, a publisher and a policy."""

    def __init__(
        self, *, clock: Clock, publisher: Publisher | None = None, policy: Policy = DEFAULT_POLICY
    ) -> None:
        self._clock = clock
        self._publisher: Publisher = publisher or NoPublisher()
        self._policy = policy

    @property
    def policy(self) -> Policy:
        return self._policy

    # --- intake --------------------------------------------------------------------------

    def intake_alarm(self, conn: Conn, notice: AlarmNotice) -> Intake:
        """Open a case for an alarm, or join it to the open case with its fingerprint.

        A stored alarm (`notice.alarm_id`) is taken in once: a second notice of it returns
        its case with no events."""
        now = self._clock.now()
        alarm = notice.alarm_id
        with transaction(conn):
            taken = None if alarm is None else store.taken_case_id(conn, alarm)
            if taken is not None:
                return Intake(store.get_case(conn, taken), True, ())
            intake = self._open_or_join(conn, notice, now)
            if alarm is not None:
                store.record_taken(conn, alarm, intake.case.id, now)
        self._publish(intake.events)
        return intake

    def intake_missed(self, conn: Conn, now: datetime) -> list[Intake]:
        """Take in the stored alarms whose intake never committed (lost with a process
        that died while the database was down); a cleared one also gets its note."""
        with transaction(conn):
            rows = store.missed_alarms(
                conn, since=now - MISSED_INTAKE_LOOKBACK, before=now - MISSED_INTAKE_GRACE
            )
        intakes = []
        for r in rows:
            intake = self.intake_alarm(conn, _missed_notice(r))
            if r["cleared_at"] is not None and intake.events:
                cleared = AlarmCleared(
                    r["fingerprint"], r["compound_id"], r["clear_values"] or {}, r["cleared_at"]
                )
                self.alarm_cleared(conn, cleared)
            intakes.append(intake)
        return intakes

    def intake_report(
        self, conn: Conn, report: Report, *, alongside: Alongside | None = None
    ) -> Intake:
        """Open a case for a resident's report or a patrol finding. `alongside(conn,
        case_id)` writes what another package keeps of the intake (a phone call's
        call-back number) inside the case's transaction: if it fails, no case opens."""
        now = self._clock.now()
        flat = report.location if report.location and _FLAT.match(report.location) else None
        title = f"{report.category}: {report.description.strip().splitlines()[0][:80]}"
        actor = _reporter_actor(report)
        with transaction(conn):
            grid = registry.grid_of(conn, report.compound, report.location)
            columns = {
                **self._new_case(report.compound, report.category, report.severity, now),
                "source": report.source.value,
                "title": title,
                "description": report.description,
                "flat": flat,
                "location": report.location,
                "grid_id": grid,
                "reporter": report.reporter,
            }
            case_id = store.insert_case(conn, columns, dedupe=False)
            assert case_id is not None  # no fingerprint, nothing to conflict with
            taken = {} if report.channel is None else {"channel": report.channel.value}
            intake = self._opened(conn, case_id, actor, now, taken)
            if alongside is not None:
                alongside(conn, case_id)
        self._publish(intake.events)
        return intake

    def alarm_cleared(self, conn: Conn, notice: AlarmCleared) -> CaseEvent | None:
        """Note on the alarm's latest case that it cleared; None if it never had one."""
        now = self._clock.now()
        detail = {"cleared_at": notice.cleared_at.isoformat(), "values": dict(notice.values)}
        with transaction(conn):
            case_id = store.latest_case_id(conn, notice.fingerprint)
            if case_id is None:
                return None
            case = store.lock_case(conn, case_id)
            events = self._record(
                conn, case, SYSTEM_ACTOR, now, [_Step(Transition.ALARM_CLEARED, detail)]
            )
        self._publish(events)
        return events[0]

    def _open_or_join(self, conn: Conn, n: AlarmNotice, now: datetime) -> Intake:
        actor = f"rule:{n.rule_id}"
        for _ in range(INTAKE_ATTEMPTS):
            grid = registry.grid_of(
                conn, n.compound, n.flat or registry.device_address(conn, n.device_id)
            )
            columns = {
                **self._new_case(n.compound, n.category, n.severity, n.opened_at),
                "source": Source.ALARM.value,
                "title": n.title,
                "fingerprint": n.fingerprint,
                "rule_id": n.rule_id,
                "device_id": n.device_id,
                "flat": n.flat,
                "grid_id": grid,
                "trigger_values": dict(n.values),
            }
            case_id = store.insert_case(conn, columns, dedupe=True)
            if case_id is not None:
                return self._opened(conn, case_id, actor, now)
            open_id = store.open_case_id(conn, n.fingerprint, lock=True)
            if open_id is not None:
                return self._join(conn, store.lock_case(conn, open_id), n, actor, now)
        raise CaseStoreError(f"could neither open nor join a case for {n.fingerprint!r}")

    def _new_case(
        self, compound: str, category: str, severity: Severity, opened_at: datetime
    ) -> dict[str, Any]:
        deadlines = self._policy.deadlines(category, severity)
        ack_due = opened_at + deadlines.acknowledge
        return {
            "compound_id": compound,
            "category": category,
            "severity": severity.value,
            "state": State.DISPATCHED.value,
            "version": 2,  # opened + dispatched, both recorded below in this transaction
            "opened_at": opened_at,
            "ack_due": ack_due,
            "resolve_due": opened_at + deadlines.resolve,
            "supervise_at": ack_due,
            "updated_at": opened_at,
        }

    def _opened(
        self,
        conn: Conn,
        case_id: int,
        actor: str,
        now: datetime,
        taken: Mapping[str, str] | None = None,
    ) -> Intake:
        case = store.get_case(conn, case_id)
        assignments = self._dispatch(conn, case)
        store.insert_assignments(conn, case_id, assignments, now)
        opened = {
            "source": case.source.value,
            "category": case.category,
            "severity": case.severity.value,
            "title": case.title,
            "grid": case.grid_id,
            "ack_due": case.ack_due.isoformat(),
            "resolve_due": case.resolve_due.isoformat(),
            **(taken or {}),
        }
        dispatched = {"assignees": [_assignee(a) for a in assignments]}
        state = next_state(case_id, State.NEW, Transition.DISPATCHED)
        pending = [
            store.PendingEvent(
                case_id, 1, case.compound, now, actor, Transition.OPENED, None, State.NEW, opened
            ),
            store.PendingEvent(
                case_id,
                2,
                case.compound,
                now,
                actor,
                Transition.DISPATCHED,
                State.NEW,
                state,
                dispatched,
            ),
        ]
        events = store.append_events(conn, pending)
        return Intake(store.get_case(conn, case_id), False, tuple(events))

    def _join(self, conn: Conn, case: Case, n: AlarmNotice, actor: str, now: datetime) -> Intake:
        count = case.alarm_count + 1
        detail = {
            "alarm_count": count,
            "opened_at": n.opened_at.isoformat(),
            "values": dict(n.values),
        }
        step = _Step(Transition.JOINED, detail, {"alarm_count": count})
        events = self._record(conn, case, actor, now, [step])
        return Intake(store.get_case(conn, case.id), True, tuple(events))

    def _dispatch(self, conn: Conn, case: Case) -> list[Assignment]:
        """The routing table's parties for the case, resolved to this compound's parties."""
        kinds = list(self._policy.route(case.category, case.grid_id))
        if case.grid_id is None:  # no grid to send its team: the community takes it
            kinds = [
                PartyKind.RESIDENTS_COMMITTEE if k is PartyKind.GRID_TEAM else k for k in kinds
            ]
        result = []
        for kind in dict.fromkeys(kinds):
            if kind is PartyKind.GRID_TEAM:
                worker = registry.grid_member(conn, case.compound, case.grid_id, "community_worker")
                result.append(Assignment(kind.value, None, case.grid_id, worker))
            else:
                party = registry.party_of_kind(conn, case.compound, kind.value)
                result.append(Assignment(kind.value, party, case.grid_id, None))
        return result

    # --- handling ------------------------------------------------------------------------

    def acknowledge(
        self, conn: Conn, case_id: int, *, actor: str, version: int, staff_id: str | None = None
    ) -> Case:
        """`staff_id`: the acting registry staff member, recorded as first responsible."""

        def steps(case: Case, now: datetime) -> list[_Step]:
            if case.escalation_level >= TOP_LEVEL:
                watch = None
            elif case.state is State.REOPENED:
                watch = now + self._policy.deadlines(case.category, case.severity).resolve
            else:
                watch = case.resolve_due
            changes = {
                "acknowledged_at": case.acknowledged_at or now,
                "supervise_at": watch,
                "first_responsible": case.first_responsible or staff_id,
            }
            return [_Step(Transition.ACKNOWLEDGED, {}, changes)]

        return self._act(conn, case_id, actor, version, steps)

    def start(self, conn: Conn, case_id: int, *, actor: str, version: int) -> Case:
        return self._act(conn, case_id, actor, version, _one(Transition.STARTED))

    def record_action(
        self, conn: Conn, case_id: int, action: Action, *, actor: str, version: int
    ) -> Case:
        detail: dict[str, Any] = {"mode": action.mode.value, "note": action.note}
        if action.participants:
            detail |= {"participants": list(action.participants), "decision": action.decision}
        return self._act(conn, case_id, actor, version, _one(Transition.ACTION_RECORDED, detail))

    def resolve(self, conn: Conn, case_id: int, *, actor: str, version: int, note: str) -> Case:
        _required("note", note)

        def steps(case: Case, now: datetime) -> list[_Step]:
            changes = {"resolved_at": now, "resolution": note, "supervise_at": None}
            done = [_Step(Transition.RESOLVED, {"note": note}, changes)]
            if case.reporter is None:
                return done
            told = {"reporter": case.reporter, "outcome": note}
            return [*done, _Step(Transition.REPORTER_INFORMED, told)]

        return self._act(conn, case_id, actor, version, steps)

    # --- feedback and close --------------------------------------------------------------

    def rate(
        self,
        conn: Conn,
        case_id: int,
        *,
        actor: str,
        version: int,
        rating: int,
        comment: str | None = None,
        by_phone: bool = False,
    ) -> Case:
        """The reporter's rating. A resident's case is rated by the resident themself
        (`actor` is `resident:<reporter>`); staff record one for them only from a phone
        call (`by_phone`), and the history says so."""
        if not 1 <= rating <= 5:
            raise InvalidRequest(
                "rating", f"must be 1 to 5, not {rating}", code="case.rating_range", rating=rating
            )

        def steps(case: Case, now: datetime) -> list[_Step]:
            next_state(case.id, case.state, Transition.RATED)  # a state refusal comes first
            own = case.reporter is not None and actor == f"resident:{case.reporter}"
            if case.source is Source.RESIDENT and not own and not by_phone:
                raise InvalidRequest(
                    "by_phone",
                    f"case {case.id} is a resident's report: the resident rates it themself;"
                    " staff record a rating only as taken in a phone call (by_phone)",
                    code="case.rated_by_resident",
                    case_id=case.id,
                )
            detail = {"rating": rating, "comment": comment, "by_phone": by_phone and not own}
            changes = {"rating": rating, "rating_comment": comment}
            return [_Step(Transition.RATED, detail, changes)]

        return self._act(conn, case_id, actor, version, steps)

    def close(
        self,
        conn: Conn,
        case_id: int,
        *,
        actor: str,
        version: int,
        note: str | None = None,
        follow_up: bool = False,
    ) -> Case:
        """Close a resolved case; `follow_up` closes it in the follow-up visit mode (复诊):
        the record says so, and the care programmes schedule a visit to its household."""
        detail: dict[str, Any] = {"note": note}
        if follow_up:
            detail["mode"] = ActionMode.FOLLOW_UP_VISIT.value

        def steps(case: Case, now: datetime) -> list[_Step]:
            return [_Step(Transition.CLOSED, detail, {"closed_at": now})]

        return self._act(conn, case_id, actor, version, steps)

    def reopen(self, conn: Conn, case_id: int, *, actor: str, version: int, reason: str) -> Case:
        _required("reason", reason)

        def steps(case: Case, now: datetime) -> list[_Step]:
            if case.fingerprint and store.open_case_id(conn, case.fingerprint) is not None:
                raise DuplicateOpenCase(case.fingerprint, case.id)
            window = self._policy.deadlines(case.category, case.severity).acknowledge
            changes = {
                "resolved_at": None,
                "closed_at": None,
                "reopen_count": case.reopen_count + 1,
                "supervise_at": now + window if case.escalation_level < TOP_LEVEL else None,
            }
            return [_Step(Transition.REOPENED, {"reason": reason}, changes)]

        return self._act(conn, case_id, actor, version, steps)

    def cancel(
        self,
        conn: Conn,
        case_id: int,
        *,
        actor: str,
        version: int,
        reason: CancelReason,
        note: str,
        duplicate_of: int | None = None,
    ) -> Case:
        _required("note", note)
        if (duplicate_of is not None) != (reason is CancelReason.DUPLICATE):
            raise InvalidRequest("duplicate_of", "names the original exactly when a duplicate")
        if duplicate_of == case_id:
            raise InvalidRequest("duplicate_of", "a case cannot duplicate itself")

        def steps(case: Case, now: datetime) -> list[_Step]:
            if duplicate_of is not None:
                store.get_case(conn, duplicate_of)  # CaseNotFound if it is not a case
            detail = {"reason": reason.value, "note": note, "duplicate_of": duplicate_of}
            changes = {"cancelled_at": now, "cancel_reason": reason.value, "supervise_at": None}
            return [_Step(Transition.CANCELLED, detail, changes)]

        return self._act(conn, case_id, actor, version, steps)

    def add_note(self, conn: Conn, case_id: int, *, actor: str, version: int, note: str) -> Case:
        _required("note", note)
        return self._act(conn, case_id, actor, version, _one(Transition.NOTE_ADDED, {"note": note}))

    # --- parties and people --------------------------------------------------------------

    def redispatch(
        self,
        conn: Conn,
        case_id: int,
        *,
        actor: str,
        version: int,
        parties: Sequence[str],
        reason: str,
    ) -> Case:
        """Replace every party of a mis-routed case; the new ones acknowledge anew."""
        _required("reason", reason)
        if not parties or len(set(parties)) != len(parties):
            raise InvalidRequest("parties", "name one or more parties, each once")

        def steps(case: Case, now: datetime) -> list[_Step]:
            next_state(case.id, case.state, Transition.REDISPATCHED)
            new = [_party_assignment(conn, case, p) for p in parties]
            kinds = [a.party_kind for a in new]
            if len(set(kinds)) != len(kinds):
                raise InvalidRequest("parties", "a case takes one party of each kind")
            if {(a.party_kind, a.party_id) for a in new} == _parties_of(case):
                raise InvalidRequest(
                    "parties",
                    f"case {case.id} is with exactly these already",
                    code="case.parties_unchanged",
                    case_id=case.id,
                )
            store.remove_assignments(conn, case.id, [a.party_kind for a in case.assignments])
            store.insert_assignments(conn, case.id, new, now)
            return [
                self._handover(case, now, Transition.REDISPATCHED, reason, case.assignments, new)
            ]

        return self._act(conn, case_id, actor, version, steps)

    def transfer(
        self,
        conn: Conn,
        case_id: int,
        *,
        actor: str,
        version: int,
        party: str,
        reason: str,
        from_kind: str | None = None,
    ) -> Case:
        """One party (`from_kind`; may be left out when the case has one) hands its share
        to `party`; the other parties keep theirs."""
        _required("reason", reason)

        def steps(case: Case, now: datetime) -> list[_Step]:
            next_state(case.id, case.state, Transition.TRANSFERRED)
            leaving = _leaving(case, from_kind)
            target = _party_assignment(conn, case, party)
            if target.party_id == leaving.party_id:
                raise InvalidRequest(
                    "party",
                    f"case {case.id} is with {party} already",
                    code="case.party_already",
                    case_id=case.id,
                    party=party,
                )
            others = {a.party_kind: a for a in case.assignments if a is not leaving}
            if (same := others.get(target.party_kind)) is not None:
                raise InvalidRequest(
                    "party",
                    f"case {case.id} already has a {target.party_kind} ({same.party_id}):"
                    " transfer that share instead",
                    code="case.party_kind_taken",
                    case_id=case.id,
                    kind=target.party_kind,
                    party=same.party_id,
                )
            store.remove_assignments(conn, case.id, [leaving.party_kind])
            store.insert_assignments(conn, case.id, [target], now)
            return [self._handover(case, now, Transition.TRANSFERRED, reason, [leaving], [target])]

        return self._act(conn, case_id, actor, version, steps)

    def add_party(
        self,
        conn: Conn,
        case_id: int,
        *,
        actor: str,
        version: int,
        party: str,
        note: str | None = None,
    ) -> Case:
        """A co-handling party joins; the case's state and clocks are unchanged."""

        def steps(case: Case, now: datetime) -> list[_Step]:
            next_state(case.id, case.state, Transition.PARTY_ADDED)
            added = _party_assignment(conn, case, party)
            for a in case.assignments:
                if a.party_kind == added.party_kind:
                    raise InvalidRequest(
                        "party",
                        f"case {case.id} already has a {a.party_kind} ({a.party_id}):"
                        " transfer it instead",
                        code="case.party_kind_taken",
                        case_id=case.id,
                        kind=a.party_kind,
                        party=a.party_id,
                    )
            store.insert_assignments(conn, case.id, [added], now)
            return [_Step(Transition.PARTY_ADDED, {"party": _assignee(added), "note": note})]

        return self._act(conn, case_id, actor, version, steps)

    def assign(self, conn: Conn, case_id: int, *, actor: str, version: int, staff_id: str) -> Case:
        """Name the staff member of a dispatched party who handles the case."""

        def steps(case: Case, now: datetime) -> list[_Step]:
            next_state(case.id, case.state, Transition.ASSIGNED)
            member = _staff(conn, case, staff_id)
            share = _share_of(case, member)
            if share is None:
                raise InvalidRequest(
                    "staff_id",
                    f"{staff_id} is of party {member['party_id'] or '(none)'}, not of a party"
                    f" case {case.id} is dispatched to ({_keys(case)})",
                )
            store.assign_staff(conn, case.id, share.party_kind, staff_id)
            detail = {"staff": staff_id, "party_kind": share.party_kind, "party": share.party_id}
            changes = {"first_responsible": case.first_responsible or staff_id}
            return [_Step(Transition.ASSIGNED, detail, changes)]

        return self._act(conn, case_id, actor, version, steps)

    def claim(self, conn: Conn, case_id: int, *, actor: str, version: int, staff_id: str) -> Case:
        """A staff member takes the case on themself (党员先锋 认领); of a dispatched party
        they also become its named handler, otherwise they help beside it."""

        def steps(case: Case, now: datetime) -> list[_Step]:
            next_state(case.id, case.state, Transition.CLAIMED)
            if case.claimed_by is not None:
                raise AlreadyClaimed(case.id, case.claimed_by)
            share = _share_of(case, _staff(conn, case, staff_id))
            if share is not None and share.staff_id is None:
                store.assign_staff(conn, case.id, share.party_kind, staff_id)
            detail = {"staff": staff_id, "party_kind": share and share.party_kind}
            changes = {
                "claimed_by": staff_id,
                "first_responsible": case.first_responsible or staff_id,
            }
            return [_Step(Transition.CLAIMED, detail, changes)]

        return self._act(conn, case_id, actor, version, steps)

    def take_over(
        self,
        conn: Conn,
        case_id: int,
        *,
        actor: str,
        version: int,
        party: str,
        reason: str,
        staff_id: str | None = None,
    ) -> Case:
        """An upper rung takes the case on (接管): every party replaced by `party` (the
        taking organisation's in the compound) and, with `staff_id` (one of its staff),
        that person claims it; one transaction, a re-dispatch and a claim on the timeline,
        both marked `take_over` with the rung the case had reached."""
        _required("reason", reason)

        def steps(case: Case, now: datetime) -> list[_Step]:
            next_state(case.id, case.state, Transition.REDISPATCHED)
            new = _party_assignment(conn, case, party)
            if _parties_of(case) == {(new.party_kind, new.party_id)}:
                raise InvalidRequest("party", f"case {case.id} is with {party} alone already")
            store.remove_assignments(conn, case.id, [a.party_kind for a in case.assignments])
            store.insert_assignments(conn, case.id, [new], now)
            handover = self._handover(
                case, now, Transition.REDISPATCHED, reason, case.assignments, [new]
            )
            marked = {"take_over": True, "rung": case.rung.value}
            taken = [_Step(handover.transition, {**handover.detail, **marked}, handover.changes)]
            if staff_id is None:
                return taken
            if _staff(conn, case, staff_id)["party_id"] != party:
                raise InvalidRequest("staff_id", f"{staff_id} is not of party {party}")
            store.assign_staff(conn, case.id, new.party_kind, staff_id)
            detail = {"staff": staff_id, "party_kind": new.party_kind, **marked}
            changes = {
                "claimed_by": staff_id,
                "first_responsible": case.first_responsible or staff_id,
            }
            return [*taken, _Step(Transition.CLAIMED, detail, changes)]

        return self._act(conn, case_id, actor, version, steps)

    def merge(
        self, conn: Conn, case_id: int, *, actor: str, version: int, into: int, note: str
    ) -> Case:
        """End a duplicate as merged into another open case of its compound; its alarms
        go over to the survivor, whose timeline records what came in."""
        _required("actor", actor)
        _required("note", note)
        if into == case_id:
            raise InvalidRequest(
                "into", "a case cannot be merged into itself", code="case.merge_self"
            )
        now = self._clock.now()
        with transaction(conn):
            locked = {i: store.lock_case(conn, i) for i in sorted((case_id, into))}
            duplicate, survivor = locked[case_id], locked[into]
            if duplicate.version != version:
                raise VersionConflict(case_id, version, duplicate.version)
            next_state(duplicate.id, duplicate.state, Transition.MERGED)
            next_state(survivor.id, survivor.state, Transition.MERGED_IN)
            if survivor.compound != duplicate.compound:
                raise InvalidRequest(
                    "into",
                    f"case {into} is in compound {survivor.compound}, case {case_id} in"
                    f" {duplicate.compound}: cases merge only within a compound",
                    code="case.merge_compound",
                )
            alarms = store.move_alarms(conn, case_id, into)
            ended = _Step(
                Transition.MERGED,
                {"into": into, "alarms": alarms, "note": note},
                {"merged_into": into, "supervise_at": None},
            )
            joined = _Step(
                Transition.MERGED_IN,
                {
                    "duplicate": case_id,
                    "title": duplicate.title,
                    "source": duplicate.source.value,
                    "reporter": duplicate.reporter,
                    "alarm_count": duplicate.alarm_count,
                    "alarms": alarms,
                    "note": note,
                },
                {"alarm_count": survivor.alarm_count + duplicate.alarm_count},
            )
            pending = [
                *self._pending(conn, duplicate, actor, now, [ended]),
                *self._pending(conn, survivor, actor, now, [joined]),
            ]
            events = store.append_events(conn, pending)
            after = store.get_case(conn, case_id)
        self._publish(events)
        return after

    def _handover(
        self,
        case: Case,
        now: datetime,
        transition: Transition,
        reason: str,
        leaving: Sequence[Assignment],
        arriving: Sequence[Assignment],
    ) -> _Step:
        """The record of a handover: the response clock restarts for the new parties (the
        SLA note in cases._policy); a claim does not pass over with the case."""
        window = self._policy.response_after_handover(case.category, case.severity)
        watch = now + window if case.escalation_level < TOP_LEVEL else None
        detail = {
            "reason": reason,
            "from": [_assignee(a) for a in leaving],
            "to": [_assignee(a) for a in arriving],
            "respond_by": (now + window).isoformat(),
        }
        return _Step(transition, detail, {"supervise_at": watch, "claimed_by": None})

    # --- supervision ---------------------------------------------------------------------

    def escalate_if_due(self, conn: Conn, case_id: int, now: datetime) -> list[CaseEvent]:
        """Escalate the case one rung if its watched deadline passed by `now`."""
        with transaction(conn):
            case = store.lock_case(conn, case_id)
            due = case.supervise_at is not None and case.supervise_at <= now
            if not due or case.state not in OPEN_STATES - {State.NEW}:
                return []
            events = self._record(
                conn, case, SUPERVISOR_ACTOR, now, [self._escalation(conn, case, now)]
            )
        self._publish(events)
        return events

    def _escalation(self, conn: Conn, case: Case, now: datetime) -> _Step:
        missed = "acknowledge" if case.state in _WATCHED_FOR_ACK else "resolve"
        deadlines = self._policy.deadlines(case.category, case.severity)
        window: timedelta = getattr(deadlines, missed)
        level = case.escalation_level + 1
        rung = LADDER[level]
        assert case.supervise_at is not None
        detail = {
            "level": level,
            "rung": rung.value,
            "missed": missed,
            "due": case.supervise_at.isoformat(),
            "notify": _notify(conn, case, rung),
        }
        changes = {
            "escalation_level": level,
            "escalations": case.escalations + 1,
            "supervise_at": now + window if level < TOP_LEVEL else None,
        }
        return _Step(Transition.ESCALATED, detail, changes)

    # --- the machinery -------------------------------------------------------------------

    def _act(self, conn: Conn, case_id: int, actor: str, version: int, steps: Steps) -> Case:
        _required("actor", actor)
        now = self._clock.now()
        with transaction(conn):
            case = store.lock_case(conn, case_id)
            if case.version != version:
                raise VersionConflict(case_id, version, case.version)
            events = self._record(conn, case, actor, now, steps(case, now))
            after = store.get_case(conn, case_id)
        self._publish(events)
        return after

    def _record(
        self, conn: Conn, case: Case, actor: str, now: datetime, steps: Sequence[_Step]
    ) -> list[CaseEvent]:
        """Check each step against the state machine, update the row, append the history."""
        return store.append_events(conn, self._pending(conn, case, actor, now, steps))

    def _pending(
        self, conn: Conn, case: Case, actor: str, now: datetime, steps: Sequence[_Step]
    ) -> list[store.PendingEvent]:
        """Check each step against the state machine and update the row: the history to append."""
        state, version = case.state, case.version
        changes: dict[str, Any] = {}
        pending: list[store.PendingEvent] = []
        for step in steps:
            after = next_state(case.id, state, step.transition)
            version += 1
            pending.append(
                store.PendingEvent(
                    case.id,
                    version,
                    case.compound,
                    now,
                    actor,
                    step.transition,
                    state,
                    after,
                    step.detail,
                )
            )
            changes |= step.changes
            state = after
        store.update_case(
            conn, case.id, {**changes, "state": state.value, "version": version, "updated_at": now}
        )
        return pending

    def _publish(self, events: Sequence[CaseEvent]) -> None:
        for event in events:
            self._publisher.publish(topic_for(event), payload_for(event))


def _one(
    transition: Transition,
    detail: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Steps:
    step = _Step(transition, detail or {}, changes or {})
    return lambda case, now: [step]


def _notify(conn: Conn, case: Case, rung: Rung) -> dict[str, Any]:
    """Whom an escalation to `rung` alerts (the stream carries it to them)."""
    if rung is Rung.GRID_LEAD:
        cadre = registry.grid_member(conn, case.compound, case.grid_id, "cadre")
        return {"grid": case.grid_id, "staff": cadre}
    if rung is Rung.COMMUNITY:
        return {"party": registry.community_party(conn, case.compound)}
    # The subdistrict office over the compound's community (registry._ladder).
    return {
        "level": Rung.SUBDISTRICT.value,
        "party": registry.subdistrict_party(conn, case.compound),
    }


def _party_assignment(conn: Conn, case: Case, party_id: str) -> Assignment:
    """The assignment of a registry party to the case; refused unless it serves the compound."""
    found = registry.party(conn, case.compound, party_id)
    if found is None:
        raise InvalidRequest(
            "party",
            f"{party_id} is not a party serving compound {case.compound}",
            code="case.party_unknown",
            party=party_id,
        )
    kind = str(found["kind"])
    worker = None
    if kind == PartyKind.GRID_TEAM.value:
        worker = registry.grid_member(conn, case.compound, case.grid_id, "community_worker")
    return Assignment(kind, party_id, case.grid_id, worker)


def _parties_of(case: Case) -> set[tuple[str, str | None]]:
    return {(a.party_kind, a.party_id) for a in case.assignments}


def _leaving(case: Case, from_kind: str | None) -> Assignment:
    """The share a transfer hands over: of `from_kind`, or the case's only one."""
    if from_kind is None and len(case.assignments) == 1:
        return case.assignments[0]
    for a in case.assignments:
        if a.party_kind == from_kind:
            return a
    kinds = ", ".join(a.party_kind for a in case.assignments) or "no party"
    wanted = "name the kind handing it over" if from_kind is None else f"not with a {from_kind}"
    raise InvalidRequest("from_kind", f"case {case.id} is with {kinds}: {wanted}")


def _staff(conn: Conn, case: Case, staff_id: str) -> dict[str, Any]:
    member = registry.staff_member(conn, case.compound, staff_id)
    if member is None:
        raise InvalidRequest(
            "staff_id",
            f"{staff_id} is not staff serving compound {case.compound}",
            code="case.staff_unknown",
            staff_id=staff_id,
        )
    return member


def _share_of(case: Case, member: Mapping[str, Any]) -> Assignment | None:
    """The case's assignment whose party the staff member belongs to (a grid team's by
    the grids whose team they are on)."""
    for a in case.assignments:
        if a.party_kind == PartyKind.GRID_TEAM.value and a.grid_id in member["teams"]:
            return a
        if a.party_id is not None and a.party_id == member["party_id"]:
            return a
    return None


def _keys(case: Case) -> str:
    return ", ".join(a.party_id or f"{a.party_kind}:{a.grid_id}" for a in case.assignments)


def _assignee(a: Assignment) -> dict[str, Any]:
    return {"party_kind": a.party_kind, "party": a.party_id, "grid": a.grid_id, "staff": a.staff_id}


def _reporter_actor(report: Report) -> str:
    return f"resident:{report.reporter}" if report.source is Source.RESIDENT else report.reporter


def _required(name: str, value: str) -> None:
    if not value.strip():
        raise InvalidRequest(name, "must not be empty", code="case.empty")


def _missed_notice(r: Mapping[str, Any]) -> AlarmNotice:
    return AlarmNotice(
        fingerprint=r["fingerprint"],
        rule_id=r["rule_id"],
        title=r["title"],
        severity=Severity(r["severity"]),
        category=r["rule_id"],  # routing and SLA are keyed on the rule id, as at first intake
        compound=r["compound_id"],
        device_id=r["device_id"],
        flat=r["flat"],
        values=r["trigger_values"],
        opened_at=r["first_seen"],
        alarm_id=r["id"],
    )
