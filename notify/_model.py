"""Notify's vocabulary: delivery states, the policy of what must reach someone, the
message a channel carries, and the records read back (secrets kept out of them)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from domain import Language, Severity


class DeliveryState(StrEnum):
    QUEUED = "queued"  # waiting for its (next) attempt, or claimed and being delivered
    SENT = "sent"  # a channel took it
    FAILED = "failed"  # given up: `last_error` says why
    ACKNOWLEDGED = "acknowledged"  # the recipient confirmed (set by later work)


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    """Which case events must reach a person. An event of a listed transition notifies
    when its case is in one of `alarm_categories` or has one of `severities`;
    escalations always do (someone missed a deadline)."""

    # The alarms that are a person in danger (cases._policy.ELDERLY_ALARMS' first two).
    alarm_categories: frozenset[str] = frozenset({"sos", "fall"})
    severities: frozenset[Severity] = frozenset({Severity.CRITICAL})
    # A dispatch of these is sent again, and to the next person on the call list, every
    # `ack_repeat_s` until the case is acknowledged: the telecare answer target is 60 s.
    repeat_categories: frozenset[str] = frozenset({"sos", "fall"})
    ack_repeat_s: float = 60.0
    # Repeats stop after this many rounds (half an hour at the default interval): by then
    # the supervisor has escalated the case to the top of its ladder.
    max_rounds: int = 30
    # A person's quiet hours hold back everything but these (and `alarm_categories`):
    # a person in danger wakes whoever is on the list.
    quiet_exempt: frozenset[Severity] = frozenset({Severity.CRITICAL})

    # A dispatch of these also tells the flat's emergency contacts (consenting households).
    family_categories: frozenset[str] = frozenset({"sos", "fall"})

    def tells_family(self, transition: str, category: str) -> bool:
        return transition == "dispatched" and category in self.family_categories

    def breaks_quiet(self, category: str, severity: Severity) -> bool:
        return category in self.alarm_categories or severity in self.quiet_exempt

    def repeats(self, transition: str, category: str) -> bool:
        return transition == "dispatched" and category in self.repeat_categories

    def notifies(self, transition: str, category: str, severity: Severity) -> bool:
        if transition == "escalated":
            return True
        if transition == "dispatched":
            return category in self.alarm_categories or severity in self.severities
        return False


DEFAULT_NOTIFY_POLICY = NotifyPolicy()


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to reach and their contact points in order of preference."""

    id: str  # a staff id
    contacts: tuple[str, ...]
    language: Language = Language.ZH  # what their messages are written in


@dataclass(frozen=True, slots=True)
class Message:
    """What one delivery carries; the same on every attempt."""

    idempotency_key: str
    subject: str
    body: str
    case_id: int
    case_event_id: int
    recipient: str
    document: Mapping[str, Any] = field(default_factory=dict)  # the webhook's JSON


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification as the API and the timeline show it: the channel as scheme and
    host only (a contact URL may carry a password or token)."""

    id: int
    case_id: int
    case_event_id: int
    recipient: str
    channel: str | None
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    round: int = 0  # 0: planned from the case event; n: its n-th repeat
    answer: str | None = None  # what the link's owner answered: going, cannot
    answered_at: datetime | None = None


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def public_channel(url: str | None) -> str | None:
    """A contact URL as it may be shown: `scheme://host`. Many Apprise schemes put a
    token where the host goes (`tgram://bottoken/...`), so a host is shown only when
    it looks like one (a dotted name, localhost or an IP address)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "invalid://"
    return f"{parts.scheme}://{host if _looks_like_host(host) else '…'}"


def _looks_like_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return len(labels) >= 2 and all(_LABEL.match(x) for x in labels) and labels[-1].isalpha()
