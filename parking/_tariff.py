"""A compound's tariff ("user pays", 享用者付费) and the fee of one stay.

The fee, in fen (integer money, 1 yuan = 100 fen): a stay no longer than its free
minutes (a pre-registered visitor's own, longer, window) costs nothing; a longer one
is charged whole, by the started hour, in 24-hour periods counted from the entry, each
period at most the daily cap. A resident's car costs nothing when residents are exempt.
A stay whose exit or entry the cameras missed has no duration to price: it costs the
tariff's flat `missed_read_fee_fen` (0 by default), residents exempt as above.

    free 30 min, 5 yuan/h, cap 40 yuan:   in 23:10, out 00:40 next day: 90 min,
    2 started hours = 10 yuan (midnight changes nothing); in Mon 08:00, out Wed 10:30:
    two whole periods at the cap (80) + 2.5 h -> 3 started hours (15) = 95 yuan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from parking._db import Conn, reading, transaction
from parking._errors import InvalidTariff

PERIOD = timedelta(hours=24)
HOUR = timedelta(hours=1)
MAX_FREE_MINUTES = 7 * 24 * 60  # a week: beyond that the car is a resident's, not a guest's
MAX_HOURLY_FEN = 100_000  # 1,000 yuan an hour: anything above is a typing error
MAX_FLAT_FEN = 1_000_000  # 10,000 yuan


@dataclass(frozen=True, slots=True)
class Tariff:
    free_minutes: int = 30
    hourly_fen: int = 500
    daily_cap_fen: int = 4000
    residents_exempt: bool = True
    visitor_free_minutes: int = 120  # pre-registered visitors' free window
    missed_read_fee_fen: int = 0  # a stay with a missed entry or exit

    def __post_init__(self) -> None:
        _within("free_minutes", self.free_minutes, MAX_FREE_MINUTES)
        _within("visitor_free_minutes", self.visitor_free_minutes, MAX_FREE_MINUTES)
        _within("hourly_fen", self.hourly_fen, MAX_HOURLY_FEN)
        _within("daily_cap_fen", self.daily_cap_fen, 24 * MAX_HOURLY_FEN)
        _within("missed_read_fee_fen", self.missed_read_fee_fen, MAX_FLAT_FEN)
        if self.daily_cap_fen < self.hourly_fen:
            raise InvalidTariff("daily_cap_fen", "must be at least one hour's fee (hourly_fen)")


def _within(field: str, value: int, top: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTariff(field, "must be a whole number")
    if not 0 <= value <= top:
        raise InvalidTariff(field, f"must be between 0 and {top}")


DEFAULT_TARIFF = Tariff()


def fee(
    tariff: Tariff, entered: datetime, exited: datetime, *, resident: bool, visitor: bool
) -> int:
    """The fee in fen of a stay from `entered` to `exited` (see the module)."""
    if resident and tariff.residents_exempt:
        return 0
    stayed = max(exited - entered, timedelta())
    free = tariff.visitor_free_minutes if visitor else tariff.free_minutes
    if stayed <= timedelta(minutes=free):
        return 0
    periods, rest = divmod(stayed, PERIOD)
    whole = min(24 * tariff.hourly_fen, tariff.daily_cap_fen)
    started_hours = -(-rest // HOUR)  # ceiling
    return periods * whole + min(started_hours * tariff.hourly_fen, tariff.daily_cap_fen)


def missed_fee(tariff: Tariff, *, resident: bool) -> int:
    return 0 if resident and tariff.residents_exempt else tariff.missed_read_fee_fen


_COLUMNS = (
    "free_minutes, hourly_fen, daily_cap_fen, residents_exempt, visitor_free_minutes,"
    " missed_read_fee_fen"
)


def tariff_of(conn: Conn, compound: str) -> Tariff:
    """The compound's tariff, DEFAULT_TARIFF until one is set."""
    with reading():
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM parking_tariffs WHERE compound_id = %s", (compound,)
        ).fetchone()
    return DEFAULT_TARIFF if row is None else Tariff(*row)


def tariffs(conn: Conn) -> dict[str, Tariff]:
    with reading():
        rows = conn.execute(f"SELECT compound_id, {_COLUMNS} FROM parking_tariffs").fetchall()
    return {str(r[0]): Tariff(*r[1:]) for r in rows}


def set_tariff(conn: Conn, compound: str, tariff: Tariff, *, actor: str, now: datetime) -> Tariff:
    """Replace the compound's tariff; stays already closed keep the fee they had."""
    with transaction(conn):
        conn.execute(
            f"INSERT INTO parking_tariffs (compound_id, {_COLUMNS}, updated_at, updated_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (compound_id) DO UPDATE"
            " SET free_minutes = EXCLUDED.free_minutes, hourly_fen = EXCLUDED.hourly_fen,"
            " daily_cap_fen = EXCLUDED.daily_cap_fen,"
            " residents_exempt = EXCLUDED.residents_exempt,"
            " visitor_free_minutes = EXCLUDED.visitor_free_minutes,"
            " missed_read_fee_fen = EXCLUDED.missed_read_fee_fen,"
            " updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
            (
                compound,
                tariff.free_minutes,
                tariff.hourly_fen,
                tariff.daily_cap_fen,
                tariff.residents_exempt,
                tariff.visitor_free_minutes,
                tariff.missed_read_fee_fen,
                now,
                actor,
            ),
        )
    return tariff
