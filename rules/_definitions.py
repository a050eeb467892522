"""Rule definitions: the frozen, declarative half of a rule (bytewax's split).

A rule file (`format: dayuan.rules/1`) is YAML validated here by pydantic, one rule at
a time, so that an error names the rule and the field. Running state lives in
`_logic`; nothing here changes after loading. Each rule is versioned: an alarm records
the version that raised it, and `source:` says where its defaults come from.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from domain import HouseholdTag, Kind, Severity
from rules._errors import RuleDefinitionError, RuleFileError

RULES_FORMAT = "dayuan.rules/1"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(value: Any) -> Any:
    """'30s', '10m', '12h', '2d' or a number of seconds -> timedelta; others left to pydantic."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration such as 30s, 10m, 12h or 2d")
        return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    return value


def _clock_time(value: Any) -> Any:
    if isinstance(value, str):
        return time.fromisoformat(value)
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 07:00 as 420
        return time(value // 60 % 24, value % 60)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration), Field(ge=timedelta())]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# None matches a field the message leaves out (`direction: [in, null]`: in, or unsaid).
Scalar = str | int | float | bool | None


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Match(_Frozen):
    """Which messages a rule reacts to: a channel, event types, and field values."""

    channel: Literal["event", "status", "telemetry"] = "event"
    type: list[str] = Field(default_factory=list)  # event types; empty: any
    where: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _type_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            return {**data, "type": [data["type"]]}
        return data


class Households(_Frozen):
    any: list[HouseholdTag] = Field(default_factory=list)  # the flat carries one of these
    none: list[HouseholdTag] = Field(default_factory=list)  # and none of these


class Scope(_Frozen):
    """Where a rule applies; an empty list means 'all'."""

    kinds: list[Kind] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    compounds: list[str] = Field(default_factory=list)
    grids: list[str] = Field(default_factory=list)
    households: Households | None = None


class Flap(_Frozen):
    """Flap suppression: `count` re-raises within `window` mark the alarm flapping; a
    flapping alarm clears only after `quiet` of continuous calm instead of `after`."""

    count: Annotated[int, Field(ge=2)] = 3
    window: Duration = timedelta(minutes=30)
    quiet: Duration = timedelta(minutes=30)


class Clear(_Frozen):
    after: Duration = timedelta()  # the clear condition must hold this long
    min_hold: Duration = timedelta()  # an alarm stays open at least this long
    flap: Flap = Field(default_factory=Flap)


class TimeWindow(_Frozen):
    """A daily window in the compound's local time; `end` before `start` crosses midnight."""

    start: ClockTime
    end: ClockTime


class _Rule(_Frozen):
    id: RuleId
    version: Annotated[int, Field(ge=1)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    # The Chinese title (the dashboard's other language); None: the English one shows.
    title_zh: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    severity: Severity
    source: Annotated[str, StringConstraints(min_length=1)]  # where the defaults come from
    enabled: bool = True
    scope: Scope = Field(default_factory=Scope)
    when: Literal["always", "day", "night"] = "always"  # astronomical, at the compound
    twilight: Duration = timedelta()  # margin around sunrise/sunset counted as neither
    clear: Clear = Field(default_factory=Clear)


class EventRule(_Rule):
    """Raise on each matching event (a repeat updates the open alarm)."""

    kind: Literal["event"]
    match: Match
    clear_on: Match | None = None  # an event that ends the condition
    quiet: Duration | None = None  # or: no repeat for this long

    @model_validator(mode="after")
    def _clears(self) -> EventRule:
        if self.clear_on is None and self.quiet is None:
            raise ValueError("an event rule needs clear_on or quiet, or its alarm never clears")
        return self


class ThresholdRule(_Rule):
    """A telemetry value beyond a limit, held for a duration; hysteresis on the way back."""

    kind: Literal["threshold"]
    metric: str
    per: str | None = None  # divide by this key's latest value (occupancy per capacity)
    above: float | None = None
    below: float | None = None
    hysteresis: Annotated[float, Field(ge=0)] = 0.0
    hold: Duration = Field(default=timedelta(), alias="for")

    @model_validator(mode="after")
    def _limit(self) -> ThresholdRule:
        if self.above is None and self.below is None:
            raise ValueError("a threshold rule needs above, below, or both")
        return self


class CountRule(_Rule):
    """At least `at_least` matching events within a sliding `window`."""

    kind: Literal["count"]
    match: Match
    at_least: Annotated[int, Field(ge=2)]
    window: Duration
    group_by: str | None = None  # count per value of this field (one stranger's denials)


class AbsenceRule(_Rule):
    """No activity in a flat: for `within` (continuous) or inside daily `windows`."""

    kind: Literal["absence"]
    activity: list[Match] = Field(min_length=1)
    within: Duration | None = None
    windows: list[TimeWindow] = Field(default_factory=list, max_length=4)
    prewarning: Duration | None = None  # a warning this long before the deadline

    @model_validator(mode="after")
    def _mode(self) -> AbsenceRule:
        if (self.within is None) == (not self.windows):
            raise ValueError("an absence rule needs exactly one of within or windows")
        return self


class HeartbeatRule(_Rule):
    """Silence for `factor` times the device's heartbeat interval."""

    kind: Literal["heartbeat"]
    factor: Annotated[float, Field(ge=1.0)] = 3.0
    status_grace: Duration | None = None  # after an `online: false`: alarm if still silent


class StuckRule(_Rule):
    """A state entered and not left within `for` (barrier open, door open, plate in)."""

    kind: Literal["stuck"]
    enter: Match
    leave: Match
    hold: Duration = Field(alias="for")
    # Events that restart the clock while entered: a grant re-arms a door's timer.
    renew: list[Match] = Field(default_factory=list)
    key: str | None = None  # an event field naming the thing tracked (a plate)
    across: Literal["device", "compound"] = "device"  # where `leave` may be seen
    exempt: list[str] = Field(default_factory=list)  # key values never tracked
    # Plates the registry knows (`World.plates`): a resident's is never tracked, a
    # pre-registered visitor's raises only once outside its window.
    exempt_known: bool = False


class CompareRule(_Rule):
    """Two streams in a window: a left event's weight not paid by unspent right events
    of the window before it, beyond `margin` (each grant pays for one passer, once)."""

    kind: Literal["compare"]
    left: Match
    right: Match
    left_weight: str | None = None  # a field to sum instead of counting (passage count)
    window: Duration
    margin: Annotated[int, Field(ge=0)] = 0


class FleetRule(_Rule):
    """A device's value against the median of its peers (same compound, model, bucket)."""

    kind: Literal["fleet"]
    metric: str
    peer_key: str  # peers share this key's bucket (dim level)
    bucket: Annotated[float, Field(gt=0)] = 10.0
    deviation: Annotated[float, Field(gt=0)]  # relative distance from the median that raises
    clear_deviation: Annotated[float, Field(ge=0)]  # ... and that clears (hysteresis)
    min_peers: Annotated[int, Field(ge=2)] = 5
    floor: Annotated[float, Field(ge=0)] = 1.0  # medians below this say nothing (lamps off)
    stale: Duration = timedelta(hours=1)  # peers not heard for this long are not peers
    hold: Duration = Field(default=timedelta(), alias="for")

    @model_validator(mode="after")
    def _band(self) -> FleetRule:
        if self.clear_deviation > self.deviation:
            raise ValueError("clear_deviation must not exceed deviation")
        return self


Rule = Annotated[
    EventRule
    | ThresholdRule
    | CountRule
    | AbsenceRule
    | HeartbeatRule
    | StuckRule
    | CompareRule
    | FleetRule,
    Field(discriminator="kind"),
]
_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)


class _Envelope(_Frozen):
    format: Literal["dayuan.rules/1"]
    version: Annotated[str, StringConstraints(min_length=1)]  # of the file, e.g. a date
    rules: list[dict[str, Any]]


class RuleSet(_Frozen):
    """A validated rule file: the enabled and disabled rules, by id."""

    version: str
    rules: tuple[Rule, ...]

    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def by_id(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


def catalogue_path() -> Path:
    """The shipped catalogue."""
    return Path(str(resources.files("rules").joinpath("catalogue.yaml")))


def load_rules(path: Path | None = None) -> RuleSet:
    """Read and validate a rule file (the shipped catalogue by default)."""
    path = path or catalogue_path()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleFileError(str(path), [f"cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise RuleFileError(str(path), [f"not valid YAML: {exc}"]) from exc
    return parse_rules(document, source=str(path))


def parse_rules(document: Any, *, source: str = "<rules>") -> RuleSet:
    try:
        envelope = _Envelope.model_validate(document)
    except ValidationError as exc:
        raise RuleFileError(source, _problems(exc)) from exc
    rules = [_parse_rule(raw, index, source) for index, raw in enumerate(envelope.rules)]
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleDefinitionError(source, rule.id, "id", "appears twice")
        seen.add(rule.id)
    return RuleSet(version=envelope.version, rules=tuple(rules))


def _parse_rule(raw: dict[str, Any], index: int, source: str) -> Rule:
    name = str(raw.get("id", f"#{index + 1}"))
    try:
        return _RULE.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in _field_path(first["loc"])) or "<rule>"
        raise RuleDefinitionError(source, name, field, first["msg"]) from exc


def _field_path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # pydantic puts the discriminator's value first ('threshold', 'above'): drop it
    return loc[1:] if loc and loc[0] in _KINDS else loc


_KINDS = {"event", "threshold", "count", "absence", "heartbeat", "stuck", "compare", "fleet"}


def _problems(exc: ValidationError) -> list[str]:
    return [
        f"field {'.'.join(str(p) for p in e['loc']) or '<root>'!r}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    ]
