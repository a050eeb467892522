"""The feed hub's subscriptions, without a server: a queue that overflows ends its
stream instead of growing, and a stream at a cursor drops what it already had."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio

from api import QUEUE_DEPTH, FeedCursor, FeedEntry, Subscription, User, feed_select
from domain import StaffRole

VIEWER = User("v", StaffRole.VIEWER, ())
LATER = datetime(2100, 1, 1, tzinfo=UTC)


def _case(event_id: int) -> tuple[FeedEntry, ...]:
    return (FeedEntry("case", event_id, b"{}"),)


def test_a_subscriber_that_does_not_read_is_ended_not_buffered() -> None:
    sub = Subscription(VIEWER, LATER, FeedCursor(0, 0))
    for i in range(QUEUE_DEPTH):
        sub.offer(_case(i + 1))
    assert sub.ended is None
    sub.offer(_case(QUEUE_DEPTH + 1))  # one more than the queue holds
    assert sub.ended == "too_slow"
    assert anyio.run(sub.next) is None  # what was queued is dropped: the client resumes
    sub.close()


def test_select_drops_what_the_cursor_already_covers() -> None:
    entries = (
        FeedEntry("alarm", 4, b"a4"),
        FeedEntry("alarm", 5, b"a5"),
        FeedEntry("case", 7, b"c7"),
        FeedEntry("case", 8, b"c8"),
    )
    frames, cursor = feed_select(VIEWER, FeedCursor(4, 7), entries)
    assert frames == [("5.7", "alarm", b"a5"), ("5.8", "case", b"c8")]
    assert cursor == FeedCursor(5, 8)
