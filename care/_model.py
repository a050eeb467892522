"""Care programmes as values: the drafts staff submit (each validated when built), the
records read back with their computed due times, and the policy's tunables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from care._errors import InvalidCare
from domain import HouseholdTag

ANY = "*"
# The households a care programme serves (the seven-colour map's care tags).
CARE_TAGS = frozenset({HouseholdTag.EMPTY_NEST, HouseholdTag.ELDERLY, HouseholdTag.DISABLED})
# Meals are delivered to elderly households only (the community's 助餐 service).
MEAL_TAG = HouseholdTag.ELDERLY
# A visit at least every day and at most once a year: beyond a year it is not a plan.
MIN_INTERVAL_DAYS, MAX_INTERVAL_DAYS = 1, 365
# A plan may be entered with a start up to a year back (taking over a paper register).
MAX_BACKDATE = timedelta(days=365)
# A visit recorded a few minutes ahead is a phone's clock; further ahead is a mistake.
CLOCK_SLACK = timedelta(minutes=5)
MAX_NOTE = 2000
MAX_NAME = 64
# A visit is shown "due" this long before its due time: tomorrow's visits on today's list.
DUE_SOON = timedelta(days=1)
# A visit this late past its due time becomes a case: two days lets a weekend or a
# rainy day pass, as coordinators do, before a supervisor is involved.
OVERDUE_GRACE = timedelta(days=2)
# A follow-up visit (复诊) is due a week after the case closes: long enough to see
# whether the fix held, short enough that the household remembers the matter.
FOLLOW_UP_AFTER = timedelta(days=7)
# A delivery may be recorded for a day up to a week back (the deliverer's paper round).
DELIVERY_BACKDATE = timedelta(days=7)

# When a meal's delivery window closes, in the compound's local time: a scheduled day
# without a record (done or missed) is "not recorded" from then on.
MEAL_WINDOW_CLOSES = {"breakfast": time(10), "lunch": time(14), "dinner": time(20)}
# A day still not recorded this long after its window closed becomes a case like a
# missed meal: the deliverer records on the way back, and two hours still leave the
# evening to check on the elder the same day.
UNRECORDED_GRACE = timedelta(hours=2)

_FLAT = re.compile(r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")


class Outcome(StrEnum):
    WELL = "well"  # seen, nothing needed
    NEEDS_HELP = "needs_help"  # seen, something to follow up (a case may be opened)
    NOT_HOME = "not_home"  # nobody answered: the visit was made, the household not seen


class Meal(StrEnum):
    BREAKFAST = "breakfast"
    LUNCH = "lunch"
    DINNER = "dinner"


class PlanStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"  # within DUE_SOON of its due time
    OVERDUE = "overdue"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CarePolicy:
    """How late is too late, per compound (`*` for the rest), and when a follow-up is due."""

    overdue_grace: Mapping[str, timedelta] = field(default_factory=lambda: {ANY: OVERDUE_GRACE})
    follow_up_after: timedelta = FOLLOW_UP_AFTER

    def grace(self, compound: str) -> timedelta:
        return self.overdue_grace.get(compound) or self.overdue_grace.get(ANY) or OVERDUE_GRACE


DEFAULT_CARE_POLICY = CarePolicy()


def _flat(value: str) -> None:
    if not _FLAT.match(value):
        raise InvalidCare("flat", f"{value!r} is not a standard address building-unit-flat")


def _name(name: str, value: str) -> None:
    if not value.strip():
        raise InvalidCare(name, "must not be empty", code="care.empty")
    if len(value) > MAX_NAME:
        raise InvalidCare(name, f"at most {MAX_NAME} characters")


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidCare(name, "must carry a time zone offset")


def _note(value: str | None) -> None:
    if value is not None and len(value) > MAX_NOTE:
        raise InvalidCare("note", f"at most {MAX_NOTE} characters")


@dataclass(frozen=True, slots=True)
class PlanDraft:
    compound: str
    flat: str
    tag: HouseholdTag
    visitor: str  # a staff id or a party id of the compound
    interval_days: int
    starts_at: datetime
    ends_at: datetime | None = None

    def __post_init__(self) -> None:
        _flat(self.flat)
        _name("visitor", self.visitor)
        if self.tag not in CARE_TAGS:
            tags = ", ".join(sorted(t.value for t in CARE_TAGS))
            raise InvalidCare("tag", f"a care plan serves one of {tags}, not {self.tag.value}")
        if not MIN_INTERVAL_DAYS <= self.interval_days <= MAX_INTERVAL_DAYS:
            raise InvalidCare(
                "interval_days",
                f"must be {MIN_INTERVAL_DAYS} to {MAX_INTERVAL_DAYS} days,"
                f" not {self.interval_days}",
                code="care.interval_range",
                low=MIN_INTERVAL_DAYS,
                high=MAX_INTERVAL_DAYS,
                value=self.interval_days,
            )
        _aware("starts_at", self.starts_at)
        _aware("ends_at", self.ends_at)
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise InvalidCare("ends_at", "must be after starts_at", code="care.ends_before_start")


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    compound: str
    flat: str
    grid: str | None
    tag: HouseholdTag
    visitor: str
    interval_days: int
    starts_at: datetime
    ends_at: datetime | None
    created_by: str
    created_at: datetime
    ended_at: datetime | None
    last_visit_at: datetime | None
    visits: int
    due_at: datetime  # the last visit (or the start) plus the interval

    def active(self, now: datetime) -> bool:
        return (
            self.ended_at is None
            and self.starts_at <= now
            and (self.ends_at is None or self.ends_at > now)
        )

    def status(self, now: datetime) -> PlanStatus:
        if self.ended_at is not None or (self.ends_at is not None and self.ends_at <= now):
            return PlanStatus.ENDED
        if now > self.due_at:
            return PlanStatus.OVERDUE
        return PlanStatus.DUE if self.due_at - now <= DUE_SOON else PlanStatus.SCHEDULED


@dataclass(frozen=True, slots=True)
class VisitDraft:
    """A visit made for a plan or for a follow-up (exactly one of them)."""

    compound: str
    visitor: str
    visited_at: datetime
    outcome: Outcome
    note: str | None = None
    plan_id: int | None = None
    follow_up_id: int | None = None

    def __post_init__(self) -> None:
        _name("visitor", self.visitor)
        _aware("visited_at", self.visited_at)
        _note(self.note)
        if (self.plan_id is None) == (self.follow_up_id is None):
            raise InvalidCare(
                "plan_id",
                "a visit answers either a plan or a follow-up",
                code="care.plan_or_follow_up",
            )


@dataclass(frozen=True, slots=True)
class Visit:
    id: int
    compound: str
    flat: str
    grid: str | None
    plan_id: int | None
    follow_up_id: int | None
    visitor: str
    visited_at: datetime
    due_at: datetime
    outcome: Outcome
    note: str | None
    recorded_by: str
    recorded_at: datetime

    @property
    def on_time(self) -> bool:
        return self.visited_at <= self.due_at


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    compound: str
    flat: str
    grid: str | None
    case_id: int
    due_at: datetime
    created_at: datetime
    visited_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.visited_at is None and now > self.due_at


@dataclass(frozen=True, slots=True)
class MealScheduleDraft:
    compound: str
    flat: str
    meal: Meal
    weekdays: tuple[int, ...]  # ISO: 1 Monday .. 7 Sunday
    deliverer: str
    starts_on: date

    def __post_init__(self) -> None:
        _flat(self.flat)
        _name("deliverer", self.deliverer)
        if not self.weekdays:
            raise InvalidCare("weekdays", "name at least one day (1 Monday to 7 Sunday)")
        bad = sorted(d for d in self.weekdays if not 1 <= d <= 7)
        if bad:
            raise InvalidCare("weekdays", f"days are 1 (Monday) to 7 (Sunday), not {bad}")


@dataclass(frozen=True, slots=True)
class MealSchedule:
    id: int
    compound: str
    flat: str
    grid: str | None
    meal: Meal
    weekdays: tuple[int, ...]
    deliverer: str
    starts_on: date
    created_by: str
    created_at: datetime
    ended_at: datetime | None
    done: int
    missed: int
    # Scheduled days within DELIVERY_BACKDATE (still recordable) whose window closed
    # with nothing recorded, oldest first; empty where no `now` was given.
    unrecorded: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryDraft:
    compound: str
    schedule_id: int
    day: date
    done: bool
    note: str | None = None

    def __post_init__(self) -> None:
        _note(self.note)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    schedule_id: int
    compound: str
    flat: str
    grid: str | None
    meal: Meal
    day: date
    done: bool
    note: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class CareKpis:
    compound: str
    grid: str | None
    since: datetime
    plans_active: int
    visits_due: int  # plans and follow-ups due within DUE_SOON, not yet overdue
    visits_overdue: int  # plans and follow-ups past their due time
    visits_recorded: int  # since `since`
    visits_on_time: int
    follow_ups_open: int
    deliveries_done: int
    deliveries_missed: int
    deliveries_unrecorded: int = 0  # scheduled days since `since`, window closed, no record
    until: datetime | None = None  # visits and deliveries before it; None: up to now

    @property
    def on_time_rate(self) -> float | None:
        return None if not self.visits_recorded else self.visits_on_time / self.visits_recorded


@dataclass(frozen=True, slots=True)
class Sweep:
    follow_ups: int  # scheduled from closed cases
    visit_cases: int  # overdue visits turned into cases
    meal_cases: int  # missed deliveries turned into cases
    unrecorded_cases: int = 0  # days not recorded past the grace turned into cases
