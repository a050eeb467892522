"""Stays: the barriers' plate reads paired into visits of the lot, their fees, the lot's
occupancy, and the stays' retention.

The sweep reads the plate reads stored since its mark (`ingest.plate_reads`, in the
order they were received), one batch a transaction under an advisory lock, and pairs
each read not taken before (`parking_reads` remembers every read it took):

- `in` with no open stay of the plate in the compound: a stay opens.
- `in` while one is open: the exit was missed. The open stay ends `exit_missed` (fee:
  the tariff's flat missed-read fee) and a new stay opens. A second `in` within
  REPEAT_WINDOW of the entry is the camera reading the car twice: taken as a repeat.
- `out` with an open stay: it closes, priced by the tariff (`parking.fee`).
- `out` with none: the entry was missed. Recorded as an `entry_missed` stay (no entry
  time; fee: the flat missed-read fee), unless the plate left within REPEAT_WINDOW, or
  it is a resident's car never seen before leaving within BEFORE_RECORDS of the
  compound's first read: it was parked before the records began (`entered_before`, no
  fee), as most residents' cars are on a new installation's first morning.
- `out` older than the open stay's entry (it arrived late, after the next entry): it
  closes the stay that entry ended `exit_missed`, priced after all, when that is the
  plate's latest stay entered before it; otherwise it is taken as a repeat.

Each stay that ends keeps when (`ended_at`): the takings of a period (`fee_total`) are
the fees of the stays that ended in it. Re-running a sweep, or two sweeps at once,
pairs nothing twice. Stays and reads carry
the retention class `parking_stay`: deleted PARKING_KEEP after the stay ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import ingest
import registry
from domain import Kind, KnownPlates, normalize_plate
from parking._db import Conn, reading, transaction
from parking._errors import InvalidPeriod, ParkingStoreError
from parking._tariff import DEFAULT_TARIFF, Tariff, fee, missed_fee, tariff_of, tariffs

# As the plate reads themselves (ingest's `access` class): a security review's horizon.
PARKING_KEEP = timedelta(days=90)
# Two reads of one plate in one direction this close are one car seen twice.
REPEAT_WINDOW = timedelta(minutes=2)
# Reads received this recently are left to the next sweep: a gateway batch received
# before them may not have committed yet, and the mark must not pass it.
SETTLE = timedelta(seconds=30)
# The takings of at most a year at once: a year's report, one range of the stays' index.
MAX_PERIOD = timedelta(days=366)
BATCH = 2000  # reads per transaction: a day's backlog of a compound in a few batches
MARK = "plate_reads"
# A resident's car leaves at least once a day or so: one unseen before and leaving within
# this long of the compound's first read was parked before the pairing began.
BEFORE_RECORDS = timedelta(hours=24)
_LOCK = 0x7061726B  # "park": one sweep at a time across processes

Status = Literal["open", "closed", "exit_missed", "entry_missed", "entered_before"]


@dataclass(frozen=True, slots=True)
class Stay:
    id: int
    compound: str
    plate: str
    status: Status
    entered_at: datetime | None
    entry_device: str | None
    exited_at: datetime | None
    exit_device: str | None
    resident: bool
    visitor: bool
    fee_fen: int  # closed: what it cost; open: what it would cost leaving now

    def duration(self, now: datetime) -> timedelta | None:
        """How long the car stayed (an open stay: until `now`); None when a read was
        missed (no entry, or no exit, to measure from)."""
        if self.entered_at is None or self.status in (
            "exit_missed",
            "entry_missed",
            "entered_before",
        ):
            return None
        return max((self.exited_at or now) - self.entered_at, timedelta())


@dataclass(frozen=True, slots=True)
class FeeTotal:
    compound: str
    start: datetime
    end: datetime
    fee_fen: int  # the fees of the stays that ended in [start, end)
    stays: int  # the stays that ended in it
    charged: int  # of them, those with a fee


@dataclass(frozen=True, slots=True)
class Occupancy:
    compound: str
    open_stays: int  # cars inside by the pairing of plate reads
    barrier_occupancy: int | None  # the barriers' own count, newest report
    barrier_capacity: int | None
    reported_at: datetime | None


@dataclass(slots=True)
class SweepResult:
    reads: int = 0
    entries: int = 0
    exits: int = 0
    exit_missed: int = 0
    entry_missed: int = 0
    entered_before: int = 0  # residents' cars parked before the records began
    repeats: int = 0
    skipped: int = 0  # reads of a device the registry has no barrier for
    purged: int = 0


@dataclass(frozen=True, slots=True)
class _Context:
    barriers: dict[str, str]  # barrier device -> compound
    known: KnownPlates
    tariffs: dict[str, Tariff]
    first_reads: dict[str, datetime] = field(default_factory=dict)  # by compound

    def tariff(self, compound: str) -> Tariff:
        return self.tariffs.get(compound, DEFAULT_TARIFF)

    def first_read(self, conn: Conn, compound: str, this: datetime) -> datetime:
        """When the compound's pairing began: its earliest read taken (or this one)."""
        if compound not in self.first_reads:
            row = conn.execute(
                "SELECT min(ts) FROM parking_reads WHERE compound_id = %s", (compound,)
            ).fetchone()
            self.first_reads[compound] = row[0] if row and row[0] else this
        return min(self.first_reads[compound], this)


def sweep(conn: Conn, now: datetime) -> SweepResult:
    """Pair the plate reads stored since the last sweep; purge what retention ended."""
    try:
        barriers = {d.id: d.compound for d in registry.devices(conn) if d.kind is Kind.BARRIER}
        context = _Context(barriers, registry.known_plates(conn), tariffs(conn))
        result = SweepResult()
        while _batch(conn, context, now, result) == BATCH:
            pass
        result.purged = purge(conn, now)
        registry.purge_visitor_passes(conn, now)
    except (registry.RegistryError, ingest.IngestError) as exc:
        raise ParkingStoreError(f"the sweep could not read its sources: {exc}") from exc
    return result


def _batch(conn: Conn, context: _Context, now: datetime, result: SweepResult) -> int:
    with transaction(conn):
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        mark = _mark(conn)
        reads = ingest.plate_reads(conn, after=mark, until=now - SETTLE, limit=BATCH)
        for read in sorted(reads, key=lambda r: (r.ts, r.device, r.seq)):
            _take(conn, context, read, result)
        if reads:
            _set_mark(conn, reads[-1])
    return len(reads)


def _mark(conn: Conn) -> ingest.PlateRead | None:
    row = conn.execute(
        "SELECT received_at, ts, device_id, seq FROM parking_marks WHERE name = %s", (MARK,)
    ).fetchone()
    if row is None:
        return None
    return ingest.PlateRead(str(row[2]), row[1], int(row[3]), "", "", row[0])


def _set_mark(conn: Conn, read: ingest.PlateRead) -> None:
    conn.execute(
        "INSERT INTO parking_marks (name, received_at, ts, device_id, seq)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET"
        " received_at = EXCLUDED.received_at, ts = EXCLUDED.ts,"
        " device_id = EXCLUDED.device_id, seq = EXCLUDED.seq",
        (MARK, read.received_at, read.ts, read.device, read.seq),
    )


def _take(conn: Conn, context: _Context, read: ingest.PlateRead, result: SweepResult) -> None:
    compound = context.barriers.get(read.device)
    if compound is None or read.direction not in ("in", "out"):
        result.skipped += 1
        return
    taken = conn.execute(
        "SELECT 1 FROM parking_reads WHERE device_id = %s AND ts = %s AND seq = %s",
        (read.device, read.ts, read.seq),
    ).fetchone()
    if taken is not None:
        return
    result.reads += 1
    plate = normalize_plate(read.plate)
    pairing = _Pairing(conn, context, compound, plate, read)
    taken_as, stay = pairing.entry(result) if read.direction == "in" else pairing.exit(result)
    conn.execute(
        "INSERT INTO parking_reads (device_id, ts, seq, compound_id, plate, direction,"
        " taken_as, stay_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (read.device, read.ts, read.seq, compound, plate, read.direction, taken_as, stay),
    )


@dataclass(frozen=True, slots=True)
class _Pairing:
    conn: Conn
    context: _Context
    compound: str
    plate: str
    read: ingest.PlateRead

    def entry(self, result: SweepResult) -> tuple[str, int]:
        found = self._open()
        if found is not None:
            stay, entered = found
            if self.read.ts - entered < REPEAT_WINDOW:
                result.repeats += 1
                return "repeat", stay
            self._end(stay, "exit_missed", None, self._missed_fee())
            result.exit_missed += 1
        result.entries += 1
        return "entry", self._insert("open", entered_at=self.read.ts)

    def exit(self, result: SweepResult) -> tuple[str, int | None]:
        found = self._open()
        if found is not None and found[1] <= self.read.ts:
            stay, entered = found
            self._end(stay, "closed", self.read.ts, self._fee(entered))
            result.exits += 1
            return "exit", stay
        late = self._late_exit()
        if late is not None:
            result.exits += 1
            return "exit", late
        left = self.conn.execute(
            "SELECT id FROM parking_stays WHERE compound_id = %s AND plate = %s"
            " AND exited_at BETWEEN %s AND %s LIMIT 1",
            (self.compound, self.plate, self.read.ts - REPEAT_WINDOW, self.read.ts),
        ).fetchone()
        if left is not None or found is not None:
            result.repeats += 1  # seen leaving twice, or an exit older than the open entry
            return "repeat", None if left is None else int(left[0])
        if self._before_records():
            result.entered_before += 1
            return "entered_before", self._insert("entered_before", exited_at=self.read.ts)
        result.entry_missed += 1
        return "entry_missed", self._insert("entry_missed", exited_at=self.read.ts)

    def _before_records(self) -> bool:
        """A resident's car never seen, leaving in the first BEFORE_RECORDS of pairing."""
        if not self.context.known.resident(self.compound, self.plate):
            return False
        began = self.context.first_read(self.conn, self.compound, self.read.ts)
        if self.read.ts - began >= BEFORE_RECORDS:
            return False
        seen = self.conn.execute(
            "SELECT 1 FROM parking_stays WHERE compound_id = %s AND plate = %s LIMIT 1",
            (self.compound, self.plate),
        ).fetchone()
        return seen is None

    def _late_exit(self) -> int | None:
        """The stay this exit belongs to when it arrived after the plate's next entry
        had already ended that stay `exit_missed`: it is closed and priced after all."""
        row = self.conn.execute(
            "SELECT id, status, entered_at FROM parking_stays WHERE compound_id = %s"
            " AND plate = %s AND entered_at <= %s ORDER BY entered_at DESC LIMIT 1 FOR UPDATE",
            (self.compound, self.plate, self.read.ts),
        ).fetchone()
        if row is None or row[1] != "exit_missed":
            return None
        stay, entered = int(row[0]), row[2]
        self._end(stay, "closed", self.read.ts, self._fee(entered))
        return stay

    def _fee(self, entered: datetime) -> int:
        known = self.context.known
        return fee(
            self.context.tariff(self.compound),
            entered,
            self.read.ts,
            resident=known.resident(self.compound, self.plate),
            visitor=known.visitor(self.compound, self.plate, entered),
        )

    def _open(self) -> tuple[int, datetime] | None:
        row = self.conn.execute(
            "SELECT id, entered_at FROM parking_stays WHERE compound_id = %s AND plate = %s"
            " AND status = 'open' FOR UPDATE",
            (self.compound, self.plate),
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def _missed_fee(self) -> int:
        resident = self.context.known.resident(self.compound, self.plate)
        return missed_fee(self.context.tariff(self.compound), resident=resident)

    def _end(self, stay: int, status: Status, exited: datetime | None, price: int) -> None:
        self.conn.execute(
            "UPDATE parking_stays SET status = %s, exited_at = %s, exit_device = %s,"
            " fee_fen = %s, ended_at = %s, purge_after = %s WHERE id = %s",
            (
                status,
                exited,
                self.read.device if exited else None,
                price,
                self.read.ts,
                self.read.ts + PARKING_KEEP,
                stay,
            ),
        )

    def _insert(
        self,
        status: Status,
        *,
        entered_at: datetime | None = None,
        exited_at: datetime | None = None,
    ) -> int:
        at = entered_at or exited_at
        assert at is not None
        known = self.context.known
        row = self.conn.execute(
            "INSERT INTO parking_stays (compound_id, plate, status, entered_at, entry_device,"
            " exited_at, exit_device, resident, visitor, fee_fen, ended_at, purge_after)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                self.compound,
                self.plate,
                status,
                entered_at,
                self.read.device if entered_at else None,
                exited_at,
                self.read.device if exited_at else None,
                known.resident(self.compound, self.plate),
                known.visitor(self.compound, self.plate, at),
                None
                if status == "open"
                else 0
                if status == "entered_before"
                else self._missed_fee(),
                None if status == "open" else at,
                None if status == "open" else at + PARKING_KEEP,
            ),
        ).fetchone()
        assert row is not None
        return int(row[0])


_STAY = (
    "SELECT id, compound_id, plate, status, entered_at, entry_device, exited_at, exit_device,"
    " resident, visitor, fee_fen FROM parking_stays"
)


def stays(
    conn: Conn,
    compound: str,
    *,
    now: datetime,
    open_only: bool = False,
    plate: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Stay], int]:
    """The compound's stays, newest first, each with its fee (an open one's: leaving
    now), and how many there are; `plate`: those whose plate holds it (normal form, so
    "a12" finds 浙A12345)."""
    where = " WHERE compound_id = %s" + (" AND status = 'open'" if open_only else "")
    args: tuple[object, ...] = (compound,)
    if plate:
        where += " AND strpos(plate, %s) > 0"
        args += (normalize_plate(plate),)
    with reading():
        rows = conn.execute(
            _STAY + where + " ORDER BY coalesce(exited_at, entered_at) DESC, id DESC"
            " LIMIT %s OFFSET %s",
            (*args, limit, offset),
        ).fetchall()
        found = conn.execute("SELECT count(*) FROM parking_stays" + where, args).fetchone()
    tariff = tariff_of(conn, compound) if any(r[3] == "open" for r in rows) else DEFAULT_TARIFF
    return [_stay(r, tariff, now) for r in rows], int(found[0]) if found else 0


def _stay(r: tuple[object, ...], tariff: Tariff, now: datetime) -> Stay:
    (id_, compound, plate, status, entered, entry_dev, exited, exit_dev, res, vis, price) = r
    assert isinstance(entered, datetime | None)
    assert isinstance(exited, datetime | None)
    if price is None:  # open: what leaving now would cost
        assert entered is not None
        price = fee(tariff, entered, now, resident=bool(res), visitor=bool(vis))
    return Stay(
        int(str(id_)),
        str(compound),
        str(plate),
        str(status),  # type: ignore[arg-type]
        entered,
        None if entry_dev is None else str(entry_dev),
        exited,
        None if exit_dev is None else str(exit_dev),
        bool(res),
        bool(vis),
        int(str(price)),
    )


def fee_total(conn: Conn, compound: str, start: datetime, end: datetime) -> FeeTotal:
    """The takings of [start, end): the fees of the compound's stays that ended in it
    (an open stay has paid nothing yet). `InvalidPeriod` for an empty, reversed or
    longer than MAX_PERIOD period, or a time without its offset."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidPeriod("a period's times need their UTC offset")
    if end <= start:
        raise InvalidPeriod("the period must end after it starts")
    if end - start > MAX_PERIOD:
        raise InvalidPeriod(f"a period lasts at most {MAX_PERIOD.days} days")
    with reading():
        row = conn.execute(
            "SELECT coalesce(sum(fee_fen), 0), count(*), count(*) FILTER (WHERE fee_fen > 0)"
            " FROM parking_stays WHERE compound_id = %s AND ended_at >= %s AND ended_at < %s",
            (compound, start, end),
        ).fetchone()
    assert row is not None
    return FeeTotal(compound, start, end, int(row[0]), int(row[1]), int(row[2]))


def occupancy(conn: Conn, compound: str) -> Occupancy:
    """Cars inside by the paired stays, beside the barriers' own newest count."""
    try:
        barriers = [
            d.id
            for d in registry.devices(conn)
            if d.compound == compound and d.kind is Kind.BARRIER
        ]
        reports = [_report(ingest.last_values(conn, b)) for b in barriers]
    except (registry.RegistryError, ingest.IngestError) as exc:
        raise ParkingStoreError(f"cannot read the barriers: {exc}") from exc
    with reading():
        found = conn.execute(
            "SELECT count(*) FROM parking_stays WHERE compound_id = %s AND status = 'open'",
            (compound,),
        ).fetchone()
    dated = [(at, count, capacity) for count, capacity, at in reports if at is not None]
    newest = max(dated, key=lambda d: d[0], default=None)
    at, count, capacity = newest if newest else (None, None, None)
    return Occupancy(compound, int(found[0]) if found else 0, count, capacity, at)


def _report(values: list[dict[str, Any]]) -> tuple[int | None, int | None, datetime | None]:
    by_key = {str(v["key"]): v for v in values}
    occ, cap = by_key.get("occupancy"), by_key.get("capacity")
    if occ is None:
        return None, None, None
    return int(occ["value"]), None if cap is None else int(cap["value"]), occ["ts"]


def purge(conn: Conn, now: datetime) -> int:
    """Delete the stays and reads past their retention (`parking_stay`); stays deleted."""
    with transaction(conn):
        gone = conn.execute(
            "DELETE FROM parking_stays WHERE purge_after IS NOT NULL AND purge_after <= %s",
            (now,),
        ).rowcount
        conn.execute("DELETE FROM parking_reads WHERE ts <= %s", (now - PARKING_KEEP,))
    return gone
