"""The alarm half of the feed hands out ids in commit order: a cursor never passes a
row that commits later; case transitions are filtered in process exactly as in SQL."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import orjson
import psycopg

import cases
from api import User, feed_head, feed_poll, sees_case_scope
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
        start = feed_head(reader)
        data.alarm(a, rule="first")

        def second() -> None:
            with psycopg.connect(api_db, autocommit=True) as b:
                data.alarm(b, rule="second", device="light-1", flat=None)

        writer = threading.Thread(target=second)
        writer.start()
        time.sleep(0.3)
        early, cursor = feed_poll(reader, ADMIN, start)
        assert early == []
        assert writer.is_alive()  # waiting for A's lock
        a.commit()
        writer.join(5)
        late, _ = feed_poll(reader, ADMIN, cursor)
    assert [orjson.loads(e[2])["rule_id"] for e in late] == ["first", "second"]


def test_case_visibility_in_process_matches_the_sql_scope(
    client: httpx.Client, admin: dict[str, str], conn: psycopg.Connection[Any]
) -> None:
    """The poller filters case transitions in process; `cases.list_cases` filters the
    case list in SQL under the same scope (and the feed filtered with it before)."""
    for location in ("1-1-101", "3-2-301", None):  # grid g1, grid g2, no grid
        body = {"compound": "c1", "category": "noise", "description": "d", "reporter": "r-1"}
        created = client.post("/api/v1/cases", json={**body, "location": location}, headers=admin)
        assert created.status_code == 201, created.text
    ids = [int(r[0]) for r in conn.execute("SELECT id FROM cases").fetchall()]
    scopes = cases.case_scopes(conn, ids)
    assert {s.grid_id for s in scopes.values()} == {"g1", "g2", None}
    users = (
        ADMIN,
        User("g2", StaffRole.GRID_WORKER, frozenset({("c1", "g2")})),
        User("other", StaffRole.GRID_WORKER, frozenset({("c2", "g2")})),  # same id, elsewhere
        User("none", StaffRole.GRID_WORKER, frozenset()),
        User("care", StaffRole.CARE_RESPONDER, frozenset()),
    )
    for user in users:
        listed, _ = cases.list_cases(
            conn, scope=user.scope, filters=cases.CaseFilter(), limit=len(ids), offset=0
        )
        in_process = {i for i in ids if sees_case_scope(user, scopes[i])}
        assert in_process == {c.id for c in listed}, user.username
