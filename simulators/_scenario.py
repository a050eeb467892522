"""Scenario files: incidents and faults scheduled at local compound times.

A scenario is YAML (`format: dayuan.scenario/1`) with a `schedule`: each entry has a
`type`, a time `at` (local time of the compound, "07:42" or "07:42:30", meaning its
first occurrence at or after the start, or `day: N` days after the start's local
date; "+1h30m", that long after the start of the run, whatever the time of day; or an
aware ISO datetime), and a target: `flat` (a standard address, for what
happens to a resident) or `device` (its full id, or its id within the compound such
as "L-017"). Entries validate with pydantic, so a typo is a clear error naming the
entry, never a silently skipped incident.

Incidents (the world): sos, fall, inactivity, vitals (a flat); low_battery,
light_failure, day_burning, power_anomaly, forced_open, tamper, door_held,
stranger, tailgating, barrier_stuck, barrier_fault, lot_full (a device).
Faults (the wire): malformed, duplicate, out_of_order, late_batch, clock_skew,
disconnect, outage (disconnect, buffer, then a backfill batch), silent.

Durations are "90s", "30m", "1h30m", "2d", seconds as a number, or ISO 8601.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import pydantic
import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

import domain
from domain import Kind
from simulators._elder import FLAT_DEVICE_FOR
from simulators._errors import ScenarioError

Ident = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Address = Annotated[
    str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_]{1,16}(-[A-Za-z0-9_]{1,16}){0,2}$")
]
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DURATION = re.compile(r"^([+-])?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(value: Any) -> Any:
    """ "1h30m", "-5m", "90s", "2d" -> timedelta; other values are left to pydantic."""
    if isinstance(value, str) and value and _DURATION.fullmatch(value.strip()):
        match = _DURATION.fullmatch(value.strip())
        assert match is not None
        sign, days, hours, minutes, seconds = match.groups()
        if not any((days, hours, minutes, seconds)):
            raise ValueError(f"{value!r} is not a duration such as '30m' or '1h30m'")
        delta = timedelta(
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=float(seconds or 0),
        )
        return -delta if sign == "-" else delta
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("a duration must be positive")
    return value


SignedDuration = Annotated[timedelta, BeforeValidator(parse_duration)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


def _at(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime needs a UTC offset, e.g. 2024-05-01T07:42:00+08:00")
        return value
    if isinstance(value, str) and value.strip().startswith("+"):
        offset = parse_duration(value)
        if not isinstance(offset, timedelta):
            raise ValueError(f"{value!r} is not an offset such as '+1h30m'")
        return offset
    if isinstance(value, str):
        match = _TIME_OF_DAY.fullmatch(value.strip())
        if match:
            hour, minute, second = (int(g or 0) for g in match.groups())
            return time(hour, minute, second)  # ValueError on 25:00 reads clearly
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is neither a local time 'HH:MM' nor a datetime") from None
        return _at(parsed)
    raise ValueError(
        "'at' is a local time 'HH:MM[:SS]', an offset from the start '+1h30m' or an ISO"
        " datetime with a UTC offset"
    )


When = Annotated[time | datetime | timedelta, BeforeValidator(_at)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: ClassVar[frozenset[Kind] | None] = None  # which device kinds it applies to (None: any)

    at: When
    day: Annotated[int, Field(ge=0, le=3650)] | None = None
    compound: Ident | None = None
    note: Annotated[str, pydantic.StringConstraints(max_length=500)] | None = None

    @pydantic.model_validator(mode="after")
    def _day_with_time_of_day(self) -> _Entry:
        if self.day is not None and not isinstance(self.at, time):
            raise ValueError("'day' goes with a local time 'HH:MM', not an offset or a datetime")
        return self

    def params(self) -> dict[str, Any]:
        """What the device needs to know, beyond when and where."""
        skip = {"type", "at", "day", "compound", "note", "flat", "device"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}


class _FlatEntry(_Entry):
    kinds: ClassVar[frozenset[Kind] | None] = frozenset({Kind.ELDER})
    flat: Address


class _DeviceEntry(_Entry):
    device: Ident


_GATE, _BARRIER, _LIGHT = (frozenset({k}) for k in (Kind.GATE, Kind.BARRIER, Kind.LIGHT))


# --- incidents ---------------------------------------------------------------------------


class Sos(_FlatEntry):
    type: Literal["sos"]


class Fall(_FlatEntry):
    type: Literal["fall"]
    lying: Duration = timedelta(minutes=45)  # no motion until help comes
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None


class Inactivity(_FlatEntry):
    type: Literal["inactivity"]
    duration: Duration = timedelta(hours=6)


class Vitals(_FlatEntry):
    type: Literal["vitals"]
    heart_rate: Annotated[float, Field(ge=0, le=300)] | None = 135.0
    spo2: Annotated[float, Field(ge=0, le=100)] | None = None
    duration: Duration = timedelta(minutes=30)


class LowBattery(_DeviceEntry):
    type: Literal["low_battery"]
    kinds: ClassVar[frozenset[Kind] | None] = frozenset({Kind.ELDER})
    level: Annotated[float, Field(ge=0, le=100)] = 8.0


class LightFailure(_DeviceEntry):
    type: Literal["light_failure"]
    kinds: ClassVar[frozenset[Kind] | None] = _LIGHT
    duration: Duration | None = None  # None: until the end of the run


class DayBurning(_DeviceEntry):
    type: Literal["day_burning"]
    kinds: ClassVar[frozenset[Kind] | None] = _LIGHT
    duration: Duration = timedelta(hours=4)


class PowerAnomaly(_DeviceEntry):
    type: Literal["power_anomaly"]
    kinds: ClassVar[frozenset[Kind] | None] = _LIGHT
    factor: Annotated[float, Field(gt=0, le=10)] = 1.8
    duration: Duration = timedelta(hours=2)


class ForcedOpen(_DeviceEntry):
    type: Literal["forced_open"]
    kinds: ClassVar[frozenset[Kind] | None] = _GATE


class Tamper(_DeviceEntry):
    type: Literal["tamper"]
    kinds: ClassVar[frozenset[Kind] | None] = _GATE


class DoorHeld(_DeviceEntry):
    type: Literal["door_held"]
    kinds: ClassVar[frozenset[Kind] | None] = _GATE
    duration: Duration = timedelta(minutes=5)


class Stranger(_DeviceEntry):
    type: Literal["stranger"]
    kinds: ClassVar[frozenset[Kind] | None] = _GATE
    attempts: Annotated[int, Field(ge=1, le=100)] = 5


class Tailgating(_DeviceEntry):
    type: Literal["tailgating"]
    kinds: ClassVar[frozenset[Kind] | None] = _GATE
    people: Annotated[int, Field(ge=2, le=100)] = 3


class BarrierStuck(_DeviceEntry):
    type: Literal["barrier_stuck"]
    kinds: ClassVar[frozenset[Kind] | None] = _BARRIER
    duration: Duration = timedelta(minutes=30)


class BarrierFault(_DeviceEntry):
    type: Literal["barrier_fault"]
    kinds: ClassVar[frozenset[Kind] | None] = _BARRIER
    duration: Duration = timedelta(minutes=30)


class LotFull(_Entry):
    type: Literal["lot_full"]
    kinds: ClassVar[frozenset[Kind] | None] = _BARRIER
    device: Ident | None = None  # any barrier of the compound: they share the lot
    duration: Duration = timedelta(hours=2)


# --- faults on the wire ------------------------------------------------------------------

MalformedVariant = Literal["not_json", "not_utf8", "schema", "bad_ts", "face_image", "empty_batch"]


class Malformed(_DeviceEntry):
    type: Literal["malformed"]
    variant: MalformedVariant = "not_json"
    count: Annotated[int, Field(ge=1, le=10_000)] = 1


class Duplicate(_DeviceEntry):
    type: Literal["duplicate"]
    count: Annotated[int, Field(ge=1, le=10_000)] = 5  # the next `count` messages, twice each


class OutOfOrder(_DeviceEntry):
    type: Literal["out_of_order"]
    count: Annotated[int, Field(ge=2, le=1000)] = 5  # the next `count` messages, reversed


class LateBatch(_DeviceEntry):
    type: Literal["late_batch"]
    window: Duration = timedelta(minutes=10)  # what the device says during it is held...
    delay: Duration = timedelta(hours=1)  # ...and published as one array this long after


class ClockSkew(_DeviceEntry):
    type: Literal["clock_skew"]
    skew: SignedDuration = timedelta(hours=2)  # added to every ts the device stamps
    duration: Duration = timedelta(hours=1)


class Disconnect(_DeviceEntry):
    type: Literal["disconnect"]
    duration: Duration = timedelta(minutes=10)  # offline; what it would say is lost


class Outage(_DeviceEntry):
    type: Literal["outage"]
    duration: Duration = timedelta(minutes=30)  # offline, buffering; then a backfill burst


class Silent(_DeviceEntry):
    type: Literal["silent"]
    duration: Duration | None = None  # still connected, says nothing; None: for good


ScheduleEntry = Annotated[
    Sos
    | Fall
    | Inactivity
    | Vitals
    | LowBattery
    | LightFailure
    | DayBurning
    | PowerAnomaly
    | ForcedOpen
    | Tamper
    | DoorHeld
    | Stranger
    | Tailgating
    | BarrierStuck
    | BarrierFault
    | LotFull
    | Malformed
    | Duplicate
    | OutOfOrder
    | LateBatch
    | ClockSkew
    | Disconnect
    | Outage
    | Silent,
    Field(discriminator="type"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["dayuan.scenario/1"] = "dayuan.scenario/1"
    name: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=200)] = "scenario"
    description: Annotated[str, pydantic.StringConstraints(max_length=5000)] | None = None
    compound: Ident | None = None  # the default target; else the file's first compound
    schedule: list[ScheduleEntry] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Action:
    """One scheduled entry, resolved against a compound: a device, an operation, a time."""

    at: datetime
    device: str
    op: str
    params: Mapping[str, Any]
    entry: int  # its position in the schedule, for error messages


# --- loading -----------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 07:42 as the base-60 integer 462; a scenario means a time of day."""


_Loader.yaml_implicit_resolvers = {
    key: list(resolvers) for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _digit in "0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_digit, []).insert(
        0, ("tag:yaml.org,2002:str", re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$"))
    )


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; every problem is a `ScenarioError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read: {exc}", path=path) from exc
    return parse_scenario(text, path=path)


def parse_scenario(text: str, *, path: Path | None = None) -> Scenario:
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", path=path) from exc
    try:
        return Scenario.model_validate(document)
    except pydantic.ValidationError as exc:
        raise ScenarioError(_describe(exc), path=path) from exc


def _describe(exc: pydantic.ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(x) for x in error["loc"])
        lines.append(f"{loc or '<root>'}: {error['msg']}")
    return "; ".join(lines)


# --- resolving against a compound --------------------------------------------------------


def resolve(scenario: Scenario, compounds: domain.CompoundFile, start: datetime) -> list[Action]:
    """The schedule as actions on devices, in time order; a `ScenarioError` names the entry."""
    actions = [
        _resolve_entry(i, entry, scenario, compounds, start)
        for i, entry in enumerate(scenario.schedule)
    ]
    return sorted(actions, key=lambda a: (a.at, a.entry))


def _resolve_entry(
    index: int, entry: _Entry, scenario: Scenario, compounds: domain.CompoundFile, start: datetime
) -> Action:
    compound = _compound(index, entry.compound or scenario.compound, compounds)
    op = str(getattr(entry, "type"))  # noqa: B009 - every concrete entry has its Literal type
    device = _target(index, op, entry, compound)
    if entry.kinds is not None and device.kind not in entry.kinds:
        wanted = " or ".join(sorted(k.value for k in entry.kinds))
        raise ScenarioError(
            f"{op} needs a {wanted}; {device.id} is a {device.kind.value}", entry=index
        )
    at = _when(index, entry, compound, start)
    return Action(at=at, device=device.id, op=op, params=entry.params(), entry=index)


def _compound(index: int, wanted: str | None, compounds: domain.CompoundFile) -> domain.Compound:
    if wanted is None:
        return compounds.compounds[0]
    for compound in compounds.compounds:
        if compound.id == wanted:
            return compound
    raise ScenarioError(f"no compound {wanted!r} in the compound file", entry=index)


def _target(index: int, op: str, entry: _Entry, compound: domain.Compound) -> domain.Device:
    if isinstance(entry, _FlatEntry):
        return _flat_device(index, op, entry.flat, compound)
    wanted = getattr(entry, "device", None)
    if wanted is None:  # lot_full: the compound's first barrier
        for device in compound.devices:
            if device.kind is Kind.BARRIER:
                return device
        raise ScenarioError(f"compound {compound.id} has no barrier", entry=index)
    for candidate in (wanted, f"{compound.id}-{wanted}"):
        for device in compound.devices:
            if device.id == candidate:
                return device
    raise ScenarioError(f"no device {wanted!r} in compound {compound.id}", entry=index)


def _flat_device(index: int, op: str, flat: str, compound: domain.Compound) -> domain.Device:
    model = FLAT_DEVICE_FOR[op]
    for device in compound.devices:
        if device.address == flat and device.model == model:
            return device
    if not any(h.flat == flat for h in compound.households):
        raise ScenarioError(f"no flat {flat!r} in compound {compound.id}", entry=index)
    raise ScenarioError(
        f"flat {flat} has no {model} (care kits go to elderly and empty-nest flats; "
        "wearables to some of them)",
        entry=index,
    )


def _when(index: int, entry: _Entry, compound: domain.Compound, start: datetime) -> datetime:
    zone = ZoneInfo(compound.timezone)
    if isinstance(entry.at, timedelta):
        at = start + entry.at
    elif isinstance(entry.at, datetime):
        at = entry.at.astimezone(UTC)
    else:
        first_day: date = start.astimezone(zone).date() + timedelta(days=entry.day or 0)
        at = datetime.combine(first_day, entry.at, tzinfo=zone).astimezone(UTC)
        if entry.day is None and at < start:
            at = datetime.combine(first_day + timedelta(days=1), entry.at, zone).astimezone(UTC)
    if at < start:
        raise ScenarioError(f"{at.isoformat()} is before the simulation starts", entry=index)
    return at
