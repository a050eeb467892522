"""The alarm half of the feed hands out ids in commit order: a cursor never passes a
row that commits later."""

from __future__ import annotations

import threading
import time

import orjson
import psycopg

from api import _feed
from api._access import User
from domain import StaffRole
from tests.api import data

ADMIN = User("admin", StaffRole.ADMIN, ())


def test_a_second_writer_waits_for_the_first_to_commit(api_db: str) -> None:
    """A holds the feed's lock until it commits; B's change gets its id only after:

    A ──insert(id N)──────────────commit
    B        insert ...waits.........──(id N+1)──commit
    feed          poll: nothing             poll: first, second
    """
    with (
        psycopg.connect(api_db) as a,
        psycopg.connect(api_db, autocommit=True) as reader,
    ):
        start = _feed.head(reader)
        data.alarm(a, rule="first")

        def second() -> None:
            with psycopg.connect(api_db, autocommit=True) as b:
                data.alarm(b, rule="second", device="light-1", flat=None)

        writer = threading.Thread(target=second)
        writer.start()
        time.sleep(0.3)
        early, cursor = _feed.poll(reader, ADMIN, start)
        assert early == []
        assert writer.is_alive()  # waiting for A's lock
        a.commit()
        writer.join(5)
        late, _ = _feed.poll(reader, ADMIN, cursor)
    assert [orjson.loads(e[2])["rule_id"] for e in late] == ["first", "second"]
