"""The feed hub's subscriptions, without a server: a queue that overflows ends its
stream instead of growing, and a stream at a cursor drops what it already had."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio

from api import _feed
from api._access import User
from api._hub import QUEUE_DEPTH, Subscription
from domain import StaffRole

VIEWER = User("v", StaffRole.VIEWER, ())
LATER = datetime(2100, 1, 1, tzinfo=UTC)


def _case(event_id: int) -> tuple[_feed.Entry, ...]:
    return (_feed.Entry("case", event_id, b"{}"),)


def test_a_subscriber_that_does_not_read_is_ended_not_buffered() -> None:
    sub = Subscription(VIEWER, LATER, _feed.Cursor(0, 0))
    for i in range(QUEUE_DEPTH):
        sub.offer(_case(i + 1))
    assert sub.ended is None
    sub.offer(_case(QUEUE_DEPTH + 1))  # one more than the queue holds
    assert sub.ended == "too_slow"
    assert anyio.run(sub.next) is None  # what was queued is dropped: the client resumes
    sub.close()


def test_select_drops_what_the_cursor_already_covers() -> None:
    entries = (
        _feed.Entry("alarm", 4, b"a4"),
        _feed.Entry("alarm", 5, b"a5"),
        _feed.Entry("case", 7, b"c7"),
        _feed.Entry("case", 8, b"c8"),
    )
    frames, cursor = _feed.select(VIEWER, _feed.Cursor(4, 7), entries)
    assert frames == [("5.7", "alarm", b"a5"), ("5.8", "case", b"c8")]
    assert cursor == _feed.Cursor(5, 8)
