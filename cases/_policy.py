"""Dispatch and supervision policy: the routing table and the SLA table.

Routing maps category x grid to the parties that take a case; SLA maps category x
severity to the deadlines to acknowledge and to resolve. Both fall back from the
specific to the general (`*`), ship with defaults, and can be overridden per
deployment by a YAML file (`format: dayuan.cases/1`):

    format: dayuan.cases/1
    routes:
      - {category: repair, grid: c1-grid2, parties: [grid_team, property_company]}
    sla:
      - {category: sos, severity: critical, acknowledge: 60s, resolve: 1h}

The SLA clock across a handover (a transfer or a re-dispatch to other parties): the
*response* clock restarts for the new party - it has the category's acknowledge
window from the handover (`Policy.response_after_handover`), watched by the
supervisor like a fresh dispatch, at the escalation level the case already reached -
while the case's *overall* age is kept: `opened_at`, `ack_due`, `resolve_due` and the
first `acknowledged_at` never move, so the KPIs measure the resident's wait from the
first report, and a mis-routed case that ends late counts as late. The first
responsible person (首问负责) stays recorded through every handover.

Categories are the rule ids for device alarms (`sos`, `forced_open`, ...) and a short
list for people's reports (`REPORT_CATEGORIES`).

What residents may do themselves is set per compound (`*` for every compound) in the
same file: the categories open to them, whether a report may be anonymous with a
call-back number, and how long after a resolution they may reopen it:

    residents:
      - {compound: c1, categories: [repair, environment, noise], anonymous: true, reopen_window: 7d}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from cases._errors import PolicyFileError
from domain import PartyKind, Severity

ANY = "*"
_K = TypeVar("_K")
_V = TypeVar("_V")
POLICY_FORMAT = "dayuan.cases/1"

_ELDER, _GRID = PartyKind.ELDERLY_CARE_CENTRE, PartyKind.GRID_TEAM
_PROPERTY, _POLICE = PartyKind.PROPERTY_COMPANY, PartyKind.COMMUNITY_POLICE
_RC, _OWNERS = PartyKind.RESIDENTS_COMMITTEE, PartyKind.OWNERS_COMMITTEE

ELDERLY_ALARMS = (
    "sos",
    "fall",
    "inactivity",
    "morning_inactivity",
    "heart_rate_out_of_range",
    "spo2_low",
)
ELDERLY_DEVICE_FAULTS = ("low_battery", "elder_device_offline")
FACILITY_FAULTS = (
    "lamp_failure_night",
    "day_burning",
    "light_power_anomaly",
    "light_offline",
    "barrier_stuck_open",
    "barrier_fault",
    "lot_full",
    "unknown_plate_overstay",
    "barrier_offline",
    "door_held_open",
    "tailgating",
    "gate_offline",
)
# Raised by the care programmes' sweep (care/): a visit overdue, a meal delivery missed.
CARE_ALERTS = ("care_visit_overdue", "meal_missed")
SECURITY_ALARMS = ("forced_open", "gate_tamper", "repeated_denials")
REPORT_CATEGORIES = (
    "repair",  # public facilities: stairwell lights, pipes, doors
    "environment",  # rubbish, sanitation, greening
    "parking",
    "noise",
    "neighbour_dispute",
    "security",
    "elderly_care",
    "public_affairs",  # too big for one party: a lift, a parking plan (民主议事厅)
)

# The report categories as people read them (the dashboard's intake form, its filters).
REPORT_CATEGORY_TITLES: Mapping[str, Mapping[str, str]] = {
    "repair": {"zh": "报修", "en": "Repair"},
    "environment": {"zh": "环境卫生", "en": "Environment"},
    "parking": {"zh": "停车", "en": "Parking"},
    "noise": {"zh": "噪音", "en": "Noise"},
    "neighbour_dispute": {"zh": "邻里纠纷", "en": "Neighbour dispute"},
    "security": {"zh": "治安", "en": "Security"},
    "elderly_care": {"zh": "养老服务", "en": "Elderly care"},
    "public_affairs": {"zh": "公共事务", "en": "Public affairs"},
}
assert set(REPORT_CATEGORY_TITLES) == set(REPORT_CATEGORIES), "a category without its titles"

Parties = tuple[PartyKind, ...]

DEFAULT_ROUTES: dict[tuple[str, str], Parties] = {
    # An elder's alarm goes to the care responders and the flat's grid worker at once.
    **{(c, ANY): (_ELDER, _GRID) for c in ELDERLY_ALARMS},
    **{(c, ANY): (_ELDER,) for c in ELDERLY_DEVICE_FAULTS},
    # An overdue visit or a missed meal: the care responders, and the grid worker who knows
    # the household.
    **{(c, ANY): (_ELDER, _GRID) for c in CARE_ALERTS},
    **{(c, ANY): (_PROPERTY,) for c in FACILITY_FAULTS},
    **{(c, ANY): (_PROPERTY, _POLICE) for c in SECURITY_ALARMS},
    ("repair", ANY): (_PROPERTY,),
    ("environment", ANY): (_PROPERTY,),
    ("parking", ANY): (_PROPERTY, _OWNERS),
    ("noise", ANY): (_GRID,),
    ("neighbour_dispute", ANY): (_GRID, _RC),
    ("security", ANY): (_PROPERTY, _POLICE),
    ("elderly_care", ANY): (_ELDER, _GRID),
    ("public_affairs", ANY): (_RC, _OWNERS, _PROPERTY),
    # "Every matter sits in a grid": what nobody else owns, the grid team takes.
    (ANY, ANY): (_GRID,),
}


@dataclass(frozen=True, slots=True)
class Deadlines:
    acknowledge: timedelta
    resolve: timedelta


# Telecare answers 97.5% of alarm calls within 60 s (TSA / TEC Quality, see
# standards.md §1), and one provider attends 100% of call-outs within 60 min: SOS and
# fall are held to both. The rest follow the 数字城管 vendor example (受理 1 h,
# 处置 8 h, a minor matter one natural day), tightened or loosened by severity.
TELECARE_ANSWER = timedelta(seconds=60)
TELECARE_ATTEND = timedelta(minutes=60)
DEFAULT_SLA: dict[tuple[str, str], Deadlines] = {
    ("sos", ANY): Deadlines(TELECARE_ANSWER, TELECARE_ATTEND),
    ("fall", ANY): Deadlines(TELECARE_ANSWER, TELECARE_ATTEND),
    (ANY, Severity.CRITICAL): Deadlines(timedelta(minutes=5), timedelta(hours=2)),
    (ANY, Severity.MAJOR): Deadlines(timedelta(minutes=15), timedelta(hours=8)),
    (ANY, Severity.MINOR): Deadlines(timedelta(hours=1), timedelta(hours=24)),
    (ANY, Severity.WARNING): Deadlines(timedelta(hours=4), timedelta(hours=72)),
}


# A resident who finds the repair did not hold notices within days; a week covers a
# weekend away and the time it takes a neighbour to help with the phone.
DEFAULT_REOPEN_WINDOW = timedelta(days=7)
# What residents report themselves: everything but the matters that go to a
# deliberation (a lift, a parking plan), which the residents' committee takes in.
RESIDENT_CATEGORIES = frozenset(REPORT_CATEGORIES) - {"public_affairs"}


@dataclass(frozen=True, slots=True)
class ResidentPolicy:
    """What residents of a compound may do themselves."""

    categories: frozenset[str] = RESIDENT_CATEGORIES  # open to residents' own reports
    anonymous: bool = False  # a report without a confirmed household, with a call-back number
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW  # after the resolution


DEFAULT_RESIDENT_POLICY = ResidentPolicy()


@dataclass(frozen=True, slots=True)
class Policy:
    routes: Mapping[tuple[str, str], Parties] = field(default_factory=lambda: DEFAULT_ROUTES)
    sla: Mapping[tuple[str, str], Deadlines] = field(default_factory=lambda: DEFAULT_SLA)
    # By compound id, `*` for the rest.
    residents: Mapping[str, ResidentPolicy] = field(
        default_factory=lambda: {ANY: DEFAULT_RESIDENT_POLICY}
    )

    def for_residents(self, compound: str) -> ResidentPolicy:
        """What residents of `compound` may do: its own row, `*`, or the default."""
        return self.residents.get(compound) or self.residents.get(ANY) or DEFAULT_RESIDENT_POLICY

    def __post_init__(self) -> None:
        if (ANY, ANY) not in self.routes:
            raise ValueError("a routing table needs a fallback route (*, *)")
        if any((ANY, s.value) not in self.sla for s in Severity):
            raise ValueError("an SLA table needs a (*, severity) row for every severity")

    def route(self, category: str, grid: str | None) -> Parties:
        """The parties for a category in a grid: exact grid, any grid, then the fallback."""
        for key in ((category, grid or ANY), (category, ANY), (ANY, grid or ANY), (ANY, ANY)):
            if key in self.routes:
                return self.routes[key]
        raise AssertionError("unreachable: the fallback route is checked on construction")

    def response_after_handover(self, category: str, severity: Severity) -> timedelta:
        """How long a new party has to acknowledge a case handed over to it: the full
        acknowledge window again, counted from the handover (the module's SLA note)."""
        return self.deadlines(category, severity).acknowledge

    def deadlines(self, category: str, severity: Severity) -> Deadlines:
        for key in ((category, severity.value), (category, ANY), (ANY, severity.value)):
            if key in self.sla:
                return self.sla[key]
        raise AssertionError("unreachable: every severity has a row, checked on construction")


DEFAULT_POLICY = Policy()

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])
    raise ValueError(f"{value!r} is not a duration such as 60s, 15m, 8h or 1d")


Duration = Annotated[timedelta, BeforeValidator(_duration), Field(gt=timedelta())]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RouteEntry(_Entry):
    category: str = Field(min_length=1)
    grid: str = ANY
    parties: list[PartyKind] = Field(min_length=1)


class _SlaEntry(_Entry):
    category: str = Field(min_length=1)
    severity: Severity | Literal["*"] = "*"
    acknowledge: Duration
    resolve: Duration


class _ResidentEntry(_Entry):
    compound: str = ANY
    categories: list[str] = Field(default_factory=lambda: sorted(RESIDENT_CATEGORIES))
    anonymous: bool = False
    reopen_window: Duration = DEFAULT_REOPEN_WINDOW


class _PolicyFile(_Entry):
    format: Literal["dayuan.cases/1"]
    replace_defaults: bool = False  # true: the file is the whole table, not an override
    routes: list[_RouteEntry] = Field(default_factory=list)
    sla: list[_SlaEntry] = Field(default_factory=list)
    residents: list[_ResidentEntry] = Field(default_factory=list)


def load_policy(path: Path, *, base: Policy = DEFAULT_POLICY) -> Policy:
    """`base` with the file's routes and SLA rows laid over it (or replaced by them)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _PolicyFile.model_validate(document)
    except OSError as exc:
        raise PolicyFileError(str(path), f"cannot read: {exc.strerror}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise PolicyFileError(str(path), str(exc)) from exc
    routes = _merge(base.routes, parsed.replace_defaults, _routes(parsed.routes))
    sla = _merge(base.sla, parsed.replace_defaults, _slas(parsed.sla))
    residents = {
        **base.residents,
        **{
            e.compound: ResidentPolicy(frozenset(e.categories), e.anonymous, e.reopen_window)
            for e in parsed.residents
        },
    }
    try:
        return Policy(routes=routes, sla=sla, residents=residents)
    except ValueError as exc:
        raise PolicyFileError(str(path), str(exc)) from exc


def _routes(entries: Iterable[_RouteEntry]) -> dict[tuple[str, str], Parties]:
    return {(e.category, e.grid): tuple(dict.fromkeys(e.parties)) for e in entries}


def _slas(entries: Iterable[_SlaEntry]) -> dict[tuple[str, str], Deadlines]:
    return {
        (e.category, _severity_key(e.severity)): Deadlines(e.acknowledge, e.resolve)
        for e in entries
    }


def _severity_key(severity: Severity | str) -> str:
    return severity.value if isinstance(severity, Severity) else severity


def _merge(base: Mapping[_K, _V], replace: bool, override: dict[_K, _V]) -> dict[_K, _V]:
    return override if replace else {**base, **override}
