"""Commands of contract v1: what the backend publishes on a device's `cmd` topic.

A `cmd` payload is one flat JSON object: `ts` (when the backend sent it), a
`correlation_id` the device's `ack` answers with, and the command itself, told apart
by `action` (`{"action": "dim", "level": 40}`). Each kind of device takes its own
actions (`ACTIONS`); elderly-care devices take none. Unknown actions and fields are
refused, as on every other channel. `parse_command` is the device's edge: bytes in,
a frozen `Command` out, or an `InvalidCommand` that still names the correlation id
when the payload had a readable one, so that the device can address its rejection.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

from domain._errors import InvalidCommand
from domain._payloads import Ident, Timestamp
from domain._reasons import Reason
from domain._topic import IDENTIFIER, Kind

# How many pydantic errors a rejection's detail lists.
MAX_ERRORS_SHOWN = 3

HhMm = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Level = Annotated[float, Field(ge=0, le=100)]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LightOn(_Action):
    action: Literal["on"]


class LightOff(_Action):
    action: Literal["off"]


class LightDim(_Action):
    action: Literal["dim"]
    level: Level


class LightSchedule(_Action):
    action: Literal["schedule"]
    on_at: HhMm  # local time of the compound
    off_at: HhMm
    level: Level = 100.0


class BarrierOpen(_Action):
    action: Literal["open"]
    lane: Ident | None = None


class BarrierClose(_Action):
    action: Literal["close"]
    lane: Ident | None = None


class GateUnlock(_Action):
    action: Literal["unlock"]
    door: Ident | None = None
    seconds: Annotated[int, Field(ge=1, le=60)] = 5  # how long the lock stays released


# The class names are the API's OpenAPI schema names; `LightDim` here is the dim
# *command*, the dim *event* is `domain._payloads.LightDim`. Hence the package exports
# the union, not the classes: a command is told apart by its `action`.
CommandBody = Annotated[
    LightOn | LightOff | LightDim | LightSchedule | BarrierOpen | BarrierClose | GateUnlock,
    Field(discriminator="action"),
]

# Which actions each kind of device takes.
ACTIONS: Mapping[Kind, frozenset[str]] = MappingProxyType(
    {
        Kind.LIGHT: frozenset({"on", "off", "dim", "schedule"}),
        Kind.BARRIER: frozenset({"open", "close"}),
        Kind.GATE: frozenset({"unlock"}),
        Kind.ELDER: frozenset(),
    }
)
_ENVELOPE = ("ts", "correlation_id")


class Command(BaseModel):
    """One `cmd` message: when it was sent, the id its ack answers with, what to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: Timestamp
    correlation_id: Ident
    body: CommandBody

    def payload(self) -> bytes:
        """The wire form: one flat object, `ts` in RFC 3339, absent options left out."""
        body = self.body.model_dump(mode="json", exclude_none=True)
        envelope = {"ts": self.ts.isoformat(), "correlation_id": self.correlation_id}
        return orjson.dumps({**envelope, **body})


def parse_command(payload: bytes, *, kind: Kind | None = None) -> Command:
    """Validate a `cmd` payload (for a device of `kind`, when given: its actions only).

    Raises `InvalidCommand` (an `InvalidPayload`) with a readable `detail`."""
    document = _document(payload)
    correlation = document.get("correlation_id")
    if not (isinstance(correlation, str) and IDENTIFIER.fullmatch(correlation)):
        correlation = None
    fields = {k: document[k] for k in _ENVELOPE if k in document}
    body = {k: v for k, v in document.items() if k not in _ENVELOPE}
    try:
        command = Command.model_validate({**fields, "body": body})
    except ValidationError as exc:
        raise InvalidCommand(
            Reason.SCHEMA_VIOLATION, _describe(exc), correlation_id=correlation
        ) from exc
    action = command.body.action
    if kind is not None and action not in ACTIONS[kind]:
        accepted = ", ".join(sorted(ACTIONS[kind])) or "no commands"
        detail = f"{kind.value} devices accept {accepted}; not {action!r}"
        raise InvalidCommand(Reason.SCHEMA_VIOLATION, detail, correlation_id=correlation)
    return command


def _document(payload: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidCommand(Reason.NOT_UTF8, "payload is not UTF-8 text") from exc
        raise InvalidCommand(Reason.MALFORMED_JSON, f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        detail = f"a command is one JSON object, not {type(document).__name__}"
        raise InvalidCommand(Reason.SCHEMA_VIOLATION, detail)
    return document


def _describe(exc: ValidationError) -> str:
    parts = [_explain(e) for e in exc.errors(include_url=False, include_input=False)]
    more = len(parts) - MAX_ERRORS_SHOWN
    shown = "; ".join(parts[:MAX_ERRORS_SHOWN])
    return shown + (f"; and {more} more" if more > 0 else "")


def _explain(error: ErrorDetails) -> str:
    known = ", ".join(sorted(a for actions in ACTIONS.values() for a in actions))
    if error["type"] == "union_tag_not_found":
        return f"action: missing (one of {known})"
    if error["type"] == "union_tag_invalid":
        return f"action: unknown {error.get('ctx', {}).get('tag')!r} (one of {known})"
    # ("body", "<action>", "level") -> "level": the wire form is flat.
    loc = error["loc"][2:] if error["loc"][:1] == ("body",) else error["loc"]
    return f"{'.'.join(str(x) for x in loc) or '<root>'}: {error['msg']}"
