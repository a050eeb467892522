"""Notifications: the case events that must reach a person (an SOS or fall dispatched,
a dispatch of a severity the policy marks, an escalation) delivered to staff through
their contact points, at least once.

A trigger of this package's migration writes an outbox row in the case event's own
transaction, so cases never knows of notify. A `Notifier` (the `dayuan notifier`
process; several may share a database) plans each outbox row into one notification
per recipient and contact point (`Recipients`, replaceable: `staff_recipients` is the
default) and delivers them through `Channels` (Apprise's URLs, a signed webhook,
Kannel SMS) with an idempotency key, retries with backoff, a per-channel rate limit
and a claim lease that survives a kill -9. States (queued, sent, failed,
acknowledged) are read with `notifications_for_case`, `case_timeline` (the case
timeline's entries) and `counts_by_state`.

An SOS or fall dispatch is repeated, each round to the next person on the call list
(`staff_call_list`, replaceable too), until the case is acknowledged. Every message
carries a signed link (`Links`) whose page (`open_link`) and buttons (`answer_link`)
the API serves.
"""

from notify import _store, _timeline
from notify._answer import ANSWERS, CANNOT, GOING, LinkView, Told, answer_link, open_link
from notify._channels import Channels, Deliver, contact_problem, signature
from notify._db import Conn, reading
from notify._errors import DeliveryFailed, LinkRefused, NotifyError, NotifyStoreError
from notify._links import LINK_TTL, LinkClaim, Links
from notify._model import (
    DEFAULT_NOTIFY_POLICY,
    DeliveryState,
    Message,
    Notification,
    NotifyPolicy,
    Recipient,
    public_channel,
)
from notify._notifier import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    LEASE,
    MAX_ATTEMPTS,
    MIN_WAIT_S,
    Notifier,
    NotifierMetrics,
    RateLimit,
    backoff,
)
from notify._plan import (
    CallList,
    Recipients,
    idempotency_key,
    staff_call_list,
    staff_recipients,
)
from notify._timeline import EntryKind, TimelineEntry
from notify._wake import CHANNEL, SAFETY_POLL_S


def notifications_for_case(conn: Conn, case_id: int) -> list[Notification]:
    """A case's notifications, oldest first (channels as scheme and host only)."""
    with reading():
        return _store.for_case(conn, case_id)


def case_timeline(conn: Conn, case_id: int) -> list[TimelineEntry]:
    """A case's notifications as timeline entries: each delivery's state (and why it
    failed), each repeat round with who it added, each answer from a link."""
    return _timeline.timeline(notifications_for_case(conn, case_id))


def counts_by_state(conn: Conn) -> dict[DeliveryState, int]:
    """Notifications by delivery state, every state listed."""
    with reading():
        return _store.counts_by_state(conn)


def unplanned(conn: Conn) -> int:
    """Case events in the outbox that no notifier has planned yet."""
    with reading():
        return _store.unplanned(conn)


__all__ = [
    "ANSWERS",
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CANNOT",
    "CHANNEL",
    "DEFAULT_NOTIFY_POLICY",
    "GOING",
    "LEASE",
    "LINK_TTL",
    "MAX_ATTEMPTS",
    "MIN_WAIT_S",
    "SAFETY_POLL_S",
    "CallList",
    "Channels",
    "Conn",
    "Deliver",
    "DeliveryFailed",
    "DeliveryState",
    "EntryKind",
    "LinkClaim",
    "LinkRefused",
    "LinkView",
    "Links",
    "Message",
    "Notification",
    "Notifier",
    "NotifierMetrics",
    "NotifyError",
    "NotifyPolicy",
    "NotifyStoreError",
    "RateLimit",
    "Recipient",
    "Recipients",
    "TimelineEntry",
    "Told",
    "answer_link",
    "backoff",
    "case_timeline",
    "contact_problem",
    "counts_by_state",
    "idempotency_key",
    "notifications_for_case",
    "open_link",
    "public_channel",
    "signature",
    "staff_call_list",
    "staff_recipients",
    "unplanned",
]
