"""The exception tree of the pure domain layer.

DomainError
├── InvalidTopic        a topic that is not `dayuan/v1/<compound>/<kind>/<device>/<channel>`
├── InvalidPayload      bytes that are not a valid message for their topic
│   └── InvalidCommand  a `cmd` payload that is not a valid command (for its device's kind)
├── SinkError           raised by a `Sink` (storage behind the gateway) for a batch
│   ├── SinkUnavailable storage cannot take a batch now (down, slow, failing over): retry it
│   └── SinkRejected    storage refused the batch's content: isolate the bad message
└── InvalidPlate        text that is no vehicle plate (plate, reason)
"""

from __future__ import annotations

from domain._reasons import Reason


class DomainError(Exception):
    """Base of every error raised by `domain`."""


class InvalidTopic(DomainError):
    def __init__(self, topic: str, detail: str) -> None:
        super().__init__(f"invalid topic {topic!r}: {detail}")
        self.topic = topic
        self.reason = Reason.BAD_TOPIC
        self.detail = detail


class InvalidPayload(DomainError):
    """A payload (or one element of a batch array) that is rejected.

    `reason` is machine-readable (a `Reason`), `detail` is for an operator.
    """

    def __init__(self, reason: Reason, detail: str, *, index: int | None = None) -> None:
        where = "" if index is None else f" (batch element {index})"
        super().__init__(f"{reason.value}{where}: {detail}")
        self.reason = reason
        self.detail = detail
        self.index = index


class InvalidCommand(InvalidPayload):
    """A refused command. `correlation_id` is the payload's own when it had a valid one
    (the device answers it with a `rejected` ack), else None (there is no one to answer)."""

    def __init__(self, reason: Reason, detail: str, *, correlation_id: str | None = None) -> None:
        super().__init__(reason, detail)
        self.correlation_id = correlation_id


class SinkError(DomainError):
    """Raised by a `Sink` implementation; the gateway decides by the subclass."""


class SinkUnavailable(SinkError):
    """Transient: the same batch may succeed later. The gateway backs off and retries."""


class SinkRejected(SinkError):
    """Permanent for this content: retrying the same batch cannot help."""


class InvalidPlate(DomainError):
    """Not a plate: `plate` is what was given (cut to 32 characters), `reason` why."""

    def __init__(self, plate: str, reason: str) -> None:
        super().__init__(f"{plate!r} is not a vehicle plate: {reason}")
        self.plate = plate
        self.reason = reason
