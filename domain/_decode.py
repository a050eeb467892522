"""Bytes -> validated payloads, for one topic's kind and channel.

A payload is one JSON object or a JSON array of them (a batch, or an offline
backfill). Elements of an array are judged one by one: a bad element is returned as
an `InvalidPayload` in its place, and the good ones beside it still pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from domain import _payloads as p
from domain._errors import InvalidPayload
from domain._reasons import Reason
from domain._topic import Channel, Kind, Topic

# Past this many elements an array is a flood, not a backfill: 64 KiB of payload holds
# about 500 small objects, so 1000 is generous and still bounds the work per message.
MAX_BATCH_ELEMENTS = 1000
# How many pydantic errors an operator reads in a dead-letter detail.
MAX_ERRORS_SHOWN = 3

_SCHEMAS: dict[tuple[Kind, Channel], TypeAdapter[Any]] = {
    (Kind.GATE, Channel.TELEMETRY): TypeAdapter(p.GateTelemetry),
    (Kind.BARRIER, Channel.TELEMETRY): TypeAdapter(p.BarrierTelemetry),
    (Kind.LIGHT, Channel.TELEMETRY): TypeAdapter(p.LightTelemetry),
    (Kind.ELDER, Channel.TELEMETRY): TypeAdapter(p.ElderTelemetry),
    (Kind.GATE, Channel.EVENT): TypeAdapter(p.GateEvent),
    (Kind.BARRIER, Channel.EVENT): TypeAdapter(p.BarrierEvent),
    (Kind.LIGHT, Channel.EVENT): TypeAdapter(p.LightEvent),
    (Kind.ELDER, Channel.EVENT): TypeAdapter(p.ElderEvent),
}
_STATUS: TypeAdapter[p.Status] = TypeAdapter(p.Status)
_ACK: TypeAdapter[p.Ack] = TypeAdapter(p.Ack)
for _kind in Kind:
    _SCHEMAS[(_kind, Channel.STATUS)] = _STATUS
    _SCHEMAS[(_kind, Channel.ACK)] = _ACK


@dataclass(frozen=True, slots=True)
class Message:
    """One validated device message, past the edge: nothing downstream re-validates it."""

    topic: Topic
    body: p.Payload
    received_at: datetime

    @property
    def device(self) -> str:
        return self.topic.device

    @property
    def ts(self) -> datetime:
        return self.body.ts


def schema_for(kind: Kind, channel: Channel) -> TypeAdapter[Any]:
    """The pydantic adapter that validates one object of `kind` on `channel`."""
    if channel is Channel.CMD:
        raise InvalidPayload(Reason.WRONG_DIRECTION, "devices do not publish on the cmd channel")
    return _SCHEMAS[(kind, channel)]


def decode(topic: Topic, payload: bytes) -> list[p.Payload | InvalidPayload]:
    """Decode and validate `payload` for `topic`; raise `InvalidPayload` if none of it is usable."""
    adapter = schema_for(topic.kind, topic.channel)
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        if not _is_utf8(payload):
            raise InvalidPayload(Reason.NOT_UTF8, "payload is not UTF-8 text") from exc
        raise InvalidPayload(Reason.MALFORMED_JSON, f"not JSON: {exc}") from exc
    if isinstance(document, dict):
        return [_validate(adapter, document, None)]
    if isinstance(document, list):
        if not document:
            raise InvalidPayload(Reason.SCHEMA_VIOLATION, "empty batch array")
        if len(document) > MAX_BATCH_ELEMENTS:
            raise InvalidPayload(
                Reason.SCHEMA_VIOLATION,
                f"batch array of {len(document)} elements (at most {MAX_BATCH_ELEMENTS})",
            )
        return [_validate_element(adapter, item, i) for i, item in enumerate(document)]
    raise InvalidPayload(
        Reason.SCHEMA_VIOLATION, f"expected a JSON object or array, got {type(document).__name__}"
    )


def _validate_element(adapter: TypeAdapter[Any], item: Any, index: int) -> Any:
    if not isinstance(item, dict):
        return InvalidPayload(
            Reason.SCHEMA_VIOLATION, f"expected an object, got {type(item).__name__}", index=index
        )
    return _validate(adapter, item, index)


def _validate(adapter: TypeAdapter[Any], document: dict[str, Any], index: int | None) -> Any:
    try:
        return adapter.validate_python(document)
    except ValidationError as exc:
        # Only a refused document can hold a face field: every schema forbids unknown
        # fields and none of its own is one. So the privacy check costs nothing on the
        # hot path, and a face field still gets its own reason.
        face = {k: v for k, v in document.items() if k.lower() in p.FACE_KEYS}
        if face:
            return InvalidPayload(Reason.PRIVACY_VIOLATION, _face_detail(face), index=index)
        return InvalidPayload(Reason.SCHEMA_VIOLATION, _describe(exc), index=index)


def _face_detail(face: dict[str, Any]) -> str:
    """Names and sizes of the face fields, never a byte of their values."""
    sizes = ", ".join(f"{k} ({len(orjson.dumps(v))} bytes)" for k, v in sorted(face.items()))
    return (
        f"field(s) {sizes} would carry a face image or template and were discarded; the "
        "backend accepts only a pseudonymous person_ref and a match score"
    )


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(x) for x in e['loc']) or '<root>'}: {e['msg']}" for e in errors]
    more = len(parts) - MAX_ERRORS_SHOWN
    shown = "; ".join(parts[:MAX_ERRORS_SHOWN])
    return shown + (f"; and {more} more" if more > 0 else "")


def _is_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
