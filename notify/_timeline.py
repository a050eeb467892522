"""A case's notifications as entries of its timeline: each delivery and how it stands,
each repeat round with the people it added, each answer given from a link.

Made from the notification rows alone (recipient, channel as scheme and host, state,
reason, round, answer): none of them holds the case's title, category or readings, so
the timeline can be shown to whoever may see the case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from notify._model import DeliveryState, Notification


class EntryKind(StrEnum):
    NOTIFICATION = "notification"  # one delivery to one contact point
    REPEAT = "repeat"  # a repeat round: sent again, and to whom it added
    ANSWER = "answer"  # "I am going" / "I cannot" from a notification's link


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: EntryKind
    round: int = 0
    recipient: str | None = None  # notification, answer
    channel: str | None = None  # notification: scheme and host only
    state: DeliveryState | None = None  # notification
    reason: str | None = None  # notification: why it failed or is being retried
    attempts: int = 0  # notification
    notification_id: int | None = None  # notification, answer
    told: tuple[str, ...] = ()  # repeat: everyone the round went to
    added: tuple[str, ...] = ()  # repeat: those no earlier round reached
    answer: str | None = None  # answer: going, cannot


def timeline(found: Sequence[Notification]) -> list[TimelineEntry]:
    """The entries of a case's notifications, in time order (a round before its
    deliveries, a delivery before its answer)."""
    entries = [_delivery(n) for n in found]
    entries += _rounds(found)
    entries += [
        TimelineEntry(
            n.answered_at,
            EntryKind.ANSWER,
            round=n.round,
            recipient=n.recipient,
            notification_id=n.id,
            answer=n.answer,
        )
        for n in found
        if n.answer is not None and n.answered_at is not None
    ]
    order = {EntryKind.REPEAT: 0, EntryKind.NOTIFICATION: 1, EntryKind.ANSWER: 2}
    return sorted(entries, key=lambda e: (e.at, order[e.kind], e.notification_id or 0))


def _delivery(n: Notification) -> TimelineEntry:
    return TimelineEntry(
        n.created_at,
        EntryKind.NOTIFICATION,
        round=n.round,
        recipient=n.recipient,
        channel=n.channel,
        state=n.state,
        reason=n.last_error if n.state is not DeliveryState.SENT else None,
        attempts=n.attempts,
        notification_id=n.id,
    )


def _rounds(found: Sequence[Notification]) -> list[TimelineEntry]:
    reached: set[str] = {n.recipient for n in found if n.round == 0}
    entries = []
    for round_ in sorted({n.round for n in found if n.round > 0}):
        mine = [n for n in found if n.round == round_]
        told = tuple(dict.fromkeys(n.recipient for n in mine))
        entries.append(
            TimelineEntry(
                min(n.created_at for n in mine),
                EntryKind.REPEAT,
                round=round_,
                told=told,
                added=tuple(r for r in told if r not in reached),
            )
        )
        reached.update(told)
    return entries
