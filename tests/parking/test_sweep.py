"""Stays paired from plate reads stored the way the gateway stores them, against a real
PostgreSQL: entry and exit, a missed exit (the next entry closes it), a missed entry,
double reads, residents and visitors, idempotence, occupancy and retention.

    t(h)       0     1     3     5     6
    stranger   in ---------- out               closed, 3 h past 30 free min: 15 yuan
    forgetful  in ----------------- in         exit_missed (flat fee), a new stay opens
    ghost                  out                 entry_missed (flat fee)
    resident   in ----- out                    closed, exempt: 0
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import parking
import registry
from parking import Tariff
from tests.api.data import store
from tests.factories import BARRIER, compound_file

Conn = psycopg.Connection[tuple[Any, ...]]
STRANGER, FORGETFUL, GHOST, RESIDENT, VISITOR = (
    "浙B11111",
    "浙B22222",
    "浙B33333",
    "浙A44444",
    "沪AD55555",
)
_seq = iter(range(1, 10**6))


@pytest.fixture
def db(conn: Conn) -> Conn:
    now = datetime.now(UTC)
    registry.load(conn, compound_file(), actor="test", now=now)
    registry.add_vehicle(conn, "c1", "1-1-101", RESIDENT, actor="test", now=now)
    parking.set_tariff(conn, "c1", Tariff(missed_read_fee_fen=2000), actor="test", now=now)
    return conn


def _reads(db_url: str, *reads: tuple[datetime, str, str]) -> None:
    topic = f"dayuan/v1/c1/barrier/{BARRIER}/event"
    store(
        db_url,
        *(
            (
                topic,
                {
                    "ts": int(at.timestamp() * 1000),
                    "seq": next(_seq),
                    "type": "plate",
                    "plate": plate,
                    "direction": way,
                    "confidence": 0.95,
                },
            )
            for at, plate, way in reads
        ),
    )


def _later() -> datetime:
    return datetime.now(UTC) + parking.SETTLE + timedelta(seconds=1)


def _by_plate(db: Conn) -> dict[str, list[parking.Stay]]:
    found, _ = parking.stays(db, "c1", now=_later(), limit=100)
    out: dict[str, list[parking.Stay]] = {}
    for s in sorted(found, key=lambda s: s.id):
        out.setdefault(s.plate, []).append(s)
    return out


def test_pairing_with_missed_reads(db: Conn, db_url: str) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=8)
    h = lambda n: t0 + timedelta(hours=n)  # noqa: E731
    _reads(
        db_url,
        (h(0), STRANGER, "in"),
        (h(0), FORGETFUL, "in"),
        (h(0), "浙a·44444", "in"),
        (h(0) + timedelta(seconds=20), STRANGER, "in"),  # the camera read it twice
        (h(1), RESIDENT, "out"),
        (h(3), STRANGER, "out"),
        (h(3), GHOST, "out"),
        (h(5), FORGETFUL, "in"),
    )
    done = parking.sweep(db, _later())
    assert (done.reads, done.entries, done.exits) == (8, 4, 2)
    assert (done.exit_missed, done.entry_missed, done.repeats) == (1, 1, 1)
    stays = _by_plate(db)
    [stranger] = stays[STRANGER]
    assert (stranger.status, stranger.fee_fen) == ("closed", 1500)
    assert (stranger.entered_at, stranger.exited_at) == (h(0), h(3))
    first, second = stays[FORGETFUL]
    assert (first.status, first.exited_at, first.fee_fen) == ("exit_missed", None, 2000)
    assert (second.status, second.entered_at) == ("open", h(5))
    [ghost] = stays[GHOST]
    assert (ghost.status, ghost.entered_at, ghost.fee_fen) == ("entry_missed", None, 2000)
    [resident] = stays[RESIDENT]  # the typed plate and the camera's read are one car
    assert (resident.status, resident.resident, resident.fee_fen) == ("closed", True, 0)


def test_residents_cars_parked_before_the_records_began_are_not_missed_reads(
    db: Conn, db_url: str
) -> None:
    """A new installation's first morning: residents' cars leave that were parked before
    the first read. Never seen, leaving within BEFORE_RECORDS of the compound's first
    read: `entered_before`, no fee. A stranger's car then, or a resident's car later, is
    a missed entry as before."""
    early, late = "浙A66666", "浙A77777"
    now = datetime.now(UTC)
    for plate in (early, late):
        registry.add_vehicle(db, "c1", "1-1-101", plate, actor="test", now=now)
    t0 = now.replace(microsecond=0) - parking.BEFORE_RECORDS - timedelta(hours=6)
    h = lambda n: t0 + timedelta(hours=n)  # noqa: E731
    _reads(
        db_url,
        (h(0), STRANGER, "in"),  # the compound's first read: the pairing begins
        (h(1), early, "out"),
        (h(2), GHOST, "out"),
        (h(25), late, "out"),
    )
    done = parking.sweep(db, _later())
    assert (done.entered_before, done.entry_missed) == (1, 2)
    stays = _by_plate(db)
    [before] = stays[early]
    assert (before.status, before.entered_at, before.fee_fen) == ("entered_before", None, 0)
    assert before.duration(now) is None
    assert stays[GHOST][0].status == "entry_missed"
    assert stays[late][0].status == "entry_missed"


def test_the_takings_of_a_period_count_each_stay_when_it_ended(db: Conn, db_url: str) -> None:
    """A stay's fee is taken when it ends: a closed one's at its exit, an exit not read
    at the next entry that ended it, an entry not read at its exit; an open one not yet.

        t(h)        0     1     2     3     4
        stranger    in ---------- out                15 yuan at 3
        forgetful   in ---------------------- in     20 yuan (missed) at 4
        ghost                   out                  20 yuan (missed) at 2
    """
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    h = lambda n: t0 + timedelta(hours=n)  # noqa: E731
    _reads(
        db_url,
        (h(0), STRANGER, "in"),
        (h(0), FORGETFUL, "in"),
        (h(2), GHOST, "out"),
        (h(3), STRANGER, "out"),
        (h(4), FORGETFUL, "in"),
    )
    parking.sweep(db, _later())
    takings = lambda a, b: parking.fee_total(db, "c1", h(a), h(b))  # noqa: E731
    assert (takings(0, 5).fee_fen, takings(0, 5).stays, takings(0, 5).charged) == (5500, 3, 3)
    assert takings(0, 2).fee_fen == 0  # nothing had ended
    assert takings(2, 3).fee_fen == 2000  # the ghost's exit; the stranger's is the end
    assert takings(3, 4).fee_fen == 1500
    assert takings(4, 5).fee_fen == 2000  # the forgetful's next entry ended the first stay
    for start, end, reason in (
        (h(1), h(1), "end after it starts"),
        (h(0), h(0) + parking.MAX_PERIOD + timedelta(seconds=1), "at most"),
        (h(0).replace(tzinfo=None), h(1), "offset"),
    ):
        with pytest.raises(parking.InvalidPeriod, match=reason):
            parking.fee_total(db, "c1", start, end)


def test_a_sweep_run_again_pairs_nothing_twice(db: Conn, db_url: str) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=3)
    _reads(db_url, (t0, STRANGER, "in"))
    assert parking.sweep(db, _later()).entries == 1
    again = parking.sweep(db, _later())
    assert (again.reads, again.entries) == (0, 0)
    db.execute("DELETE FROM parking_marks")  # even from the beginning of the stream
    assert parking.sweep(db, _later()).reads == 0
    _reads(db_url, (t0 + timedelta(hours=2), STRANGER, "out"))
    assert parking.sweep(db, _later()).exits == 1
    assert [s.status for s in _by_plate(db)[STRANGER]] == ["closed"]


def test_reads_received_just_now_wait_for_the_next_sweep(db: Conn, db_url: str) -> None:
    _reads(db_url, (datetime.now(UTC) - timedelta(minutes=5), STRANGER, "in"))
    assert parking.sweep(db, datetime.now(UTC)).reads == 0  # not settled yet
    assert parking.sweep(db, _later()).reads == 1


def test_a_preregistered_visitor_parks_free_in_their_window(db: Conn, db_url: str) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    registry.register_visitor(
        db,
        "c1",
        VISITOR,
        valid_from=t0 - timedelta(minutes=5),
        valid_to=t0 + timedelta(hours=6),
        flat="1-1-101",
        actor="test",
        now=t0,
    )
    _reads(db_url, (t0, VISITOR, "in"), (t0 + timedelta(minutes=100), VISITOR, "out"))
    parking.sweep(db, _later())
    [visit] = _by_plate(db)[VISITOR]
    assert (visit.visitor, visit.fee_fen) == (True, 0)  # 100 min: inside the 120 free


def test_occupancy_from_open_stays_beside_the_barriers_count(db: Conn, db_url: str) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=2)
    _reads(db_url, (t0, STRANGER, "in"), (t0, FORGETFUL, "in"), (t0, GHOST, "in"))
    store(
        db_url,
        (
            f"dayuan/v1/c1/barrier/{BARRIER}/telemetry",
            {"ts": int(t0.timestamp() * 1000), "values": {"occupancy": 41, "capacity": 50}},
        ),
    )
    parking.sweep(db, _later())
    seen = parking.occupancy(db, "c1")
    assert (seen.open_stays, seen.barrier_occupancy, seen.barrier_capacity) == (3, 41, 50)
    [open_one, *_] = parking.stays(db, "c1", now=_later(), open_only=True)[0]
    # 2 h and some seconds so far: 3 started hours
    assert (open_one.status, open_one.fee_fen) == ("open", 1500)


def test_stays_and_reads_purge_after_their_retention(db: Conn, db_url: str) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=3)
    _reads(db_url, (t0, STRANGER, "in"), (t0 + timedelta(hours=1), STRANGER, "out"))
    parking.sweep(db, _later())
    ended = t0 + timedelta(hours=1)
    assert parking.purge(db, ended + parking.PARKING_KEEP - timedelta(seconds=1)) == 0
    assert parking.purge(db, ended + parking.PARKING_KEEP) == 1
    assert _by_plate(db) == {}
    left = db.execute("SELECT count(*) FROM parking_reads").fetchone()
    assert left == (0,)


def test_visitor_passes_purge_30_days_after_their_window(db: Conn) -> None:
    now = datetime.now(UTC)
    made = registry.register_visitor(
        db,
        "c1",
        VISITOR,
        valid_from=now,
        valid_to=now + timedelta(hours=2),
        flat=None,
        actor="test",
        now=now,
    )
    kept_until = made.valid_to + registry.VISITOR_KEEP
    assert registry.purge_visitor_passes(db, kept_until - timedelta(seconds=1)) == 0
    assert registry.known_plates(db).visitors  # still there for a dispute
    parking.sweep(db, kept_until)  # every sweep purges
    assert not registry.known_plates(db).visitors


def test_dayuan_parking_sweep_prints_what_it_did(
    db: Conn, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dayuan.cli import main

    _reads(db_url, (datetime.now(UTC) - timedelta(hours=1), STRANGER, "in"))
    monkeypatch.setenv("DAYUAN_DATABASE_URL", db_url)
    # Reads received in the last SETTLE seconds wait: the command's clock is the wall's.
    db.execute("UPDATE access_events SET received_at = received_at - interval '1 minute'")
    assert main(["parking", "sweep"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 1
    assert main(["parking", "sweep"]) == 0
    assert json.loads(capsys.readouterr().out)["reads"] == 0


def test_an_exit_arriving_after_the_next_entry_closes_its_own_stay(db: Conn, db_url: str) -> None:
    #   t(h)  0 in ........ 3 out (stored late) .. 5 in
    #   sweep 1 sees 0 in and 5 in: exit_missed; sweep 2 sees 3 out: closed, priced
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    _reads(db_url, (t0, STRANGER, "in"), (t0 + timedelta(hours=5), STRANGER, "in"))
    assert parking.sweep(db, _later()).exit_missed == 1
    _reads(db_url, (t0 + timedelta(hours=3), STRANGER, "out"))
    assert parking.sweep(db, _later()).exits == 1
    first, second = _by_plate(db)[STRANGER]
    assert (first.status, first.exited_at, first.fee_fen) == (
        "closed",
        t0 + timedelta(hours=3),
        1500,
    )
    assert second.status == "open"
