"""The workflow's vocabulary as values: states, transitions, inputs and records.

Inputs (`AlarmNotice`, `AlarmCleared`, `Report`, `Action`) validate themselves when
built, so nothing past the constructor checks them again. Records (`Case`,
`CaseEvent`, `Assignment`) are what the store reads back; they never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cases._errors import InvalidRequest
from domain import Severity


class Source(StrEnum):
    ALARM = "alarm"  # opened by the rule engine
    RESIDENT = "resident"  # a resident's report ("every call gets an answer")
    PATROL = "patrol"  # a finding of the weekly joint patrol or a grid worker


class State(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"
    MERGED = "merged"  # a duplicate merged into another case (`Case.merged_into`)


# Still being worked on: the states in which an alarm with the same fingerprint joins
# the case (the partial unique index in 0005_cases.sql lists the same states).
OPEN_STATES = frozenset(
    {State.NEW, State.DISPATCHED, State.ACKNOWLEDGED, State.IN_PROGRESS, State.REOPENED}
)


class Transition(StrEnum):
    """What one record of a case's history says happened; the last MQTT topic level."""

    OPENED = "opened"
    DISPATCHED = "dispatched"
    JOINED = "joined_duplicate"
    ACKNOWLEDGED = "acknowledged"
    STARTED = "started"
    ACTION_RECORDED = "action_recorded"
    RESOLVED = "resolved"
    REPORTER_INFORMED = "reporter_informed"
    RATED = "rated"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"
    ALARM_CLEARED = "alarm_cleared"
    NOTE_ADDED = "note_added"
    REDISPATCHED = "redispatched"  # every party replaced: the dispatch was wrong
    TRANSFERRED = "transferred"  # one party hands its share over to another
    ASSIGNED = "assigned"  # a named staff member of a dispatched party
    CLAIMED = "claimed"  # a staff member takes it on themself (党员先锋 认领)
    PARTY_ADDED = "party_added"  # a co-handling party joins
    MERGED = "merged"  # this duplicate ended, merged into another case
    MERGED_IN = "merged_in"  # a duplicate was merged into this case


class ActionMode(StrEnum):
    """The volunteer method's five modes (坐诊, 问诊, 急诊, 会诊, 复诊)."""

    DESK_RECEPTION = "desk_reception"
    HOME_VISIT = "home_visit"
    ON_SITE_EMERGENCY = "on_site_emergency"
    JOINT_CONSULTATION = "joint_consultation"
    FOLLOW_UP_VISIT = "follow_up_visit"


class Channel(StrEnum):
    """How a person's report reached the staff who typed it in (recorded when known)."""

    DESK = "desk"  # in person at the service desk
    PHONE = "phone"  # a phone call to the desk (a call-back number is kept apart)


class CancelReason(StrEnum):
    DUPLICATE = "duplicate"
    NOT_RESPONSIBLE = "not_responsible"


class Rung(StrEnum):
    """The escalation ladder, bottom to top; a case's level indexes it."""

    ASSIGNEE = "assignee"
    GRID_LEAD = "grid_lead"
    COMMUNITY = "community"
    SUBDISTRICT = "subdistrict"


LADDER: tuple[Rung, ...] = tuple(Rung)
TOP_LEVEL = len(LADDER) - 1

# Who the workflow itself acts as: it is recorded in the history like a person.
SYSTEM_ACTOR = "system:cases"
SUPERVISOR_ACTOR = "system:supervisor"


def _required(name: str, value: str) -> None:
    if not value.strip():
        raise InvalidRequest(name, "must not be empty")


@dataclass(frozen=True, slots=True)
class AlarmNotice:
    """An alarm the rule engine opened (adapted from its `AlarmChange`)."""

    fingerprint: str  # rule id + subject: the same fingerprint joins an open case
    rule_id: str
    title: str
    severity: Severity
    category: str  # routing and SLA key; for device alarms the rule id
    compound: str
    device_id: str | None
    flat: str | None  # standard address building-unit-flat
    values: Mapping[str, Any]  # what triggered it
    opened_at: datetime
    # The row of `alarms`: intake records it taken (`alarm_intakes`), so that one notice
    # never joins twice and a lost intake is found again. None: not a stored alarm.
    alarm_id: int | None = None

    def __post_init__(self) -> None:
        for name in ("fingerprint", "rule_id", "title", "category", "compound"):
            _required(name, getattr(self, name))
        _aware("opened_at", self.opened_at)


@dataclass(frozen=True, slots=True)
class AlarmCleared:
    """The rule engine cleared an alarm: a system note on its case, not a resolution."""

    fingerprint: str
    compound: str
    values: Mapping[str, Any]  # what cleared it
    cleared_at: datetime

    def __post_init__(self) -> None:
        _required("fingerprint", self.fingerprint)
        _aware("cleared_at", self.cleared_at)


@dataclass(frozen=True, slots=True)
class Report:
    """A case opened by a person: a resident's report or a patrol finding."""

    compound: str
    category: str
    description: str
    reporter: str  # a resident's pseudonymous ref, or the patrolling staff member's id
    source: Source = Source.RESIDENT
    location: str | None = None  # a standard address, or free text ("north gate")
    severity: Severity = Severity.MINOR  # urgency as the desk judged it
    channel: Channel | None = None  # taken at the desk or by phone; None: the reporter's own

    def __post_init__(self) -> None:
        for name in ("compound", "category", "description", "reporter"):
            _required(name, getattr(self, name))
        if self.source is Source.ALARM:
            raise InvalidRequest("source", "a report comes from a resident or a patrol")


@dataclass(frozen=True, slots=True)
class Action:
    """What a handler did; a joint consultation also names its participants and decision."""

    mode: ActionMode
    note: str
    participants: tuple[str, ...] = ()
    decision: str | None = None

    def __post_init__(self) -> None:
        _required("note", self.note)
        if self.mode is ActionMode.JOINT_CONSULTATION:
            if len(self.participants) < 2:
                raise InvalidRequest("participants", "a joint consultation has two or more")
            if not (self.decision or "").strip():
                raise InvalidRequest("decision", "a joint consultation records its decision")
        elif self.participants or self.decision:
            raise InvalidRequest("participants", "only a joint consultation records them")


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise InvalidRequest(name, "must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Assignment:
    party_kind: str
    party_id: str | None  # None: no party of that kind is registered in the compound
    grid_id: str | None
    staff_id: str | None  # the grid worker, for a grid-team assignment


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    compound: str
    source: Source
    category: str
    severity: Severity
    title: str
    state: State
    version: int  # the number of records in its history; actions are based on it
    opened_at: datetime
    ack_due: datetime
    resolve_due: datetime
    escalation_level: int
    fingerprint: str | None = None
    description: str | None = None
    device_id: str | None = None
    flat: str | None = None
    location: str | None = None
    grid_id: str | None = None
    reporter: str | None = None
    alarm_count: int = 1
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    supervise_at: datetime | None = None  # when the supervisor next looks at it
    escalations: int = 0
    reopen_count: int = 0
    first_responsible: str | None = None  # 首问负责: the first staff member to take it
    claimed_by: str | None = None
    merged_into: int | None = None
    assignments: tuple[Assignment, ...] = field(default=())

    @property
    def rung(self) -> Rung:
        return LADDER[self.escalation_level]


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One append-only record of a case's history, and one message of the stream."""

    id: int  # monotonic in commit order: the live feed's Last-Event-ID
    case_id: int
    version: int
    compound: str
    at: datetime
    actor: str
    transition: Transition
    from_state: State | None
    to_state: State
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Intake:
    """What intake did: opened a case, or joined an alarm to an open one."""

    case: Case
    joined: bool
    events: tuple[CaseEvent, ...]
