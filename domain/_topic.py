"""MQTT topics of contract v1: `dayuan/v1/<compound>/<kind>/<device>/<channel>`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain._errors import InvalidTopic

PREFIX = "dayuan/v1"
# The backend's own topics, outside the device contract: only the backend account may
# read or write them (the gateways' presence, see `gateway._takeover`).
BACKEND_PREFIX = "dayuan/backend"
IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Kind(StrEnum):
    GATE = "gate"  # face access gate at a compound or building door
    BARRIER = "barrier"  # parking barrier with a plate camera
    LIGHT = "light"  # street light
    ELDER = "elder"  # elderly-care device: pendant, fall detector, door/motion/bed sensor, wearable


class Channel(StrEnum):
    TELEMETRY = "telemetry"
    EVENT = "event"
    STATUS = "status"
    ACK = "ack"
    CMD = "cmd"  # backend -> device; the only channel a device subscribes to


DEVICE_CHANNELS = frozenset({Channel.TELEMETRY, Channel.EVENT, Channel.STATUS, Channel.ACK})


def is_identifier(value: str) -> bool:
    return IDENTIFIER.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Topic:
    compound: str
    kind: Kind
    device: str
    channel: Channel

    def __post_init__(self) -> None:
        for name in ("compound", "device"):
            value = getattr(self, name)
            if not is_identifier(value):
                raise InvalidTopic(str(value), f"{name} must match {IDENTIFIER.pattern}")

    def __str__(self) -> str:
        return f"{PREFIX}/{self.compound}/{self.kind.value}/{self.device}/{self.channel.value}"

    @classmethod
    def parse(cls, topic: str) -> Topic:
        parts = topic.split("/")
        if len(parts) != 6 or f"{parts[0]}/{parts[1]}" != PREFIX:
            raise InvalidTopic(topic, f"expected {PREFIX}/<compound>/<kind>/<device>/<channel>")
        _, _, compound, kind, device, channel = parts
        try:
            kind_value = Kind(kind)
        except ValueError:
            raise InvalidTopic(topic, f"unknown kind {kind!r}") from None
        try:
            channel_value = Channel(channel)
        except ValueError:
            raise InvalidTopic(topic, f"unknown channel {channel!r}") from None
        if not is_identifier(compound):
            raise InvalidTopic(topic, f"compound must match {IDENTIFIER.pattern}")
        if not is_identifier(device):
            raise InvalidTopic(topic, f"device must match {IDENTIFIER.pattern}")
        return cls(compound, kind_value, device, channel_value)


# The gateway subscribes to the whole namespace, so that a topic with a level too many
# or too few still reaches it and is dead-lettered instead of never being seen.
SUBSCRIPTION = f"{PREFIX}/#"
# Topics the backend itself publishes under the namespace; the gateway passes them by.
BACKEND_NAMESPACES = frozenset({"cases"})


def subscriptions(compounds: Sequence[str] = ()) -> tuple[str, ...]:
    """The topic filters for every compound, or for the named ones only (a partition)."""
    if not compounds:
        return (SUBSCRIPTION,)
    for compound in compounds:
        if not is_identifier(compound):
            raise InvalidTopic(compound, f"compound must match {IDENTIFIER.pattern}")
    return tuple(f"{PREFIX}/{compound}/#" for compound in compounds)


def is_outbound(topic: str) -> bool:
    """True for what the backend publishes: commands to devices, case transitions."""
    parts = topic.split("/")
    return (len(parts) == 6 and parts[5] == Channel.CMD.value) or (
        len(parts) > 3 and parts[3] in BACKEND_NAMESPACES
    )


def cmd_topic(compound: str, kind: Kind, device: str) -> str:
    return str(Topic(compound, kind, device, Channel.CMD))
