"""Commands of the MQTT contract: the `cmd` payload, judged without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from domain import (
    ACTIONS,
    Command,
    CommandBody,
    InvalidCommand,
    InvalidPayload,
    Kind,
    Reason,
    parse_command,
)

SENT = datetime(2026, 11, 21, 15, 10, 0, 250000, tzinfo=UTC)
BODIES: list[dict[str, Any]] = [
    {"action": "on"},
    {"action": "off"},
    {"action": "dim", "level": 40.0},
    {"action": "schedule", "on_at": "18:30", "off_at": "05:45", "level": 70.0},
    {"action": "open", "lane": "1"},
    {"action": "close"},
    {"action": "unlock", "door": "north", "seconds": 8},
]
_BODY: TypeAdapter[Any] = TypeAdapter(CommandBody)


def _wire(**fields: Any) -> bytes:
    return orjson.dumps({"ts": SENT.isoformat(), "correlation_id": "c0ffee01", **fields})


@pytest.mark.parametrize("body", BODIES, ids=[b["action"] for b in BODIES])
def test_every_command_round_trips_through_its_wire_form(body: dict[str, Any]) -> None:
    command = Command(ts=SENT, correlation_id="c0ffee01", body=_BODY.validate_python(body))
    payload = command.payload()
    assert orjson.loads(payload) == {"ts": SENT.isoformat(), "correlation_id": "c0ffee01", **body}
    assert parse_command(payload) == command


def test_the_wire_form_is_flat_and_leaves_absent_options_out() -> None:
    command = parse_command(_wire(action="open"))
    assert command.body.action == "open"
    assert orjson.loads(command.payload()) == {
        "ts": "2026-11-21T15:10:00.250000+00:00",
        "correlation_id": "c0ffee01",
        "action": "open",
    }


def test_defaults_are_filled_in() -> None:
    schedule = parse_command(_wire(action="schedule", on_at="18:00", off_at="06:00")).body
    unlock = parse_command(_wire(action="unlock")).body
    assert schedule.model_dump() == {
        "action": "schedule",
        "on_at": "18:00",
        "off_at": "06:00",
        "level": 100.0,
    }
    assert unlock.model_dump() == {"action": "unlock", "door": None, "seconds": 5}


def test_ts_takes_both_forms_of_the_contract() -> None:
    local = timezone(timedelta(hours=8))
    as_ms = parse_command(
        orjson.dumps({"ts": 1795240923000, "correlation_id": "a", "action": "on"})
    )
    as_text = parse_command(_wire(action="on", ts=SENT.astimezone(local).isoformat()))
    assert as_ms.ts == datetime(2026, 11, 21, 6, 2, 3, tzinfo=UTC)
    assert as_text.ts == SENT


def test_a_command_is_frozen() -> None:
    command = parse_command(_wire(action="dim", level=40))
    with pytest.raises(ValueError, match="frozen"):
        command.correlation_id = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        command.body.level = 90  # type: ignore[misc,union-attr]


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        (_wire(action="explode"), "action: unknown 'explode' (one of close, dim, off, on,"),
        (_wire(level=40), "action: missing"),
        (_wire(action="on", brightness=3), "brightness: Extra inputs are not permitted"),
        (_wire(action="dim", level=140), "level: Input should be less than or equal to 100"),
        (_wire(action="dim"), "level: Field required"),
        (_wire(action="schedule", on_at="25:00", off_at="06:00"), "on_at: String should match"),
        (_wire(action="unlock", seconds=600), "seconds: Input should be less than or equal to 60"),
        (_wire(action="open", seq=7), "seq: Extra inputs are not permitted"),
        (_wire(action="on", ts="2026-11-21T07:42:03"), "ts needs a UTC offset"),
        (orjson.dumps({"correlation_id": "a", "action": "on"}), "ts: Field required"),
    ],
)
def test_bad_commands_are_refused_readably_and_keep_their_correlation_id(
    payload: bytes, complaint: str
) -> None:
    with pytest.raises(InvalidCommand) as info:
        parse_command(payload)
    assert complaint in info.value.detail
    assert "body" not in info.value.detail  # the wire form is flat: so is the detail
    assert info.value.reason is Reason.SCHEMA_VIOLATION
    assert info.value.correlation_id == ("a" if b'"a"' in payload else "c0ffee01")
    assert isinstance(info.value, InvalidPayload)  # old `except InvalidPayload` still holds


@pytest.mark.parametrize(
    ("payload", "reason", "complaint"),
    [
        (b"dim 40", Reason.MALFORMED_JSON, "not JSON"),
        (b"\xff\xfe{", Reason.NOT_UTF8, "not UTF-8"),
        (b'[{"action": "on"}]', Reason.SCHEMA_VIOLATION, "one JSON object, not list"),
        (
            orjson.dumps({"ts": 1, "correlation_id": "no spaces", "action": "on"}),
            Reason.SCHEMA_VIOLATION,
            "correlation_id: String should match pattern",
        ),
    ],
)
def test_a_command_with_no_usable_correlation_id_says_so(
    payload: bytes, reason: Reason, complaint: str
) -> None:
    with pytest.raises(InvalidCommand) as info:
        parse_command(payload)
    assert info.value.reason is reason
    assert complaint in info.value.detail
    assert info.value.correlation_id is None


def test_each_kind_takes_its_own_actions() -> None:
    assert parse_command(_wire(action="dim", level=5), kind=Kind.LIGHT).body.action == "dim"
    with pytest.raises(InvalidCommand, match="light devices accept dim, off, on, schedule; not "):
        parse_command(_wire(action="unlock"), kind=Kind.LIGHT)
    with pytest.raises(InvalidCommand, match="elder devices accept no commands; not 'on'") as info:
        parse_command(_wire(action="on"), kind=Kind.ELDER)
    assert info.value.correlation_id == "c0ffee01"


def test_the_table_of_actions_covers_every_kind_and_every_command_once() -> None:
    assert set(ACTIONS) == set(Kind)
    taken = [action for actions in ACTIONS.values() for action in actions]
    assert sorted(taken) == sorted(b["action"] for b in BODIES)  # each by exactly one kind
    with pytest.raises(TypeError):
        ACTIONS[Kind.ELDER] = frozenset({"on"})  # type: ignore[index]
