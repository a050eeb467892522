"""The fee of a stay, worked by hand. Tariff: 30 free minutes, 5 yuan (500 fen) an
hour by the started hour, at most 40 yuan per 24 hours counted from the entry.

    in 23:10 ........ midnight ........ out 00:40    90 min: 2 started hours = 10 yuan
    in Mon 08:00 | 24 h: 40 | 24 h: 40 | 2.5 h: 3 h = 15 | out Wed 10:30 = 95 yuan
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parking import DEFAULT_TARIFF, InvalidTariff, Tariff, fee, missed_fee

T = Tariff(free_minutes=30, hourly_fen=500, daily_cap_fen=4000, visitor_free_minutes=120)
MON = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def _fee(
    entered: datetime,
    stayed: timedelta,
    *,
    resident: bool = False,
    visitor: bool = False,
    tariff: Tariff = T,
) -> int:
    return fee(tariff, entered, entered + stayed, resident=resident, visitor=visitor)


@pytest.mark.parametrize(
    ("entered", "stayed", "fen"),
    [
        (MON + timedelta(hours=10), timedelta(minutes=30), 0),  # within the free minutes
        (MON + timedelta(hours=10), timedelta(minutes=31), 500),  # past them: all of it, 1 h
        (MON + timedelta(hours=10), timedelta(hours=1), 500),
        (MON + timedelta(hours=10), timedelta(hours=1, seconds=1), 1000),  # a started hour
        (MON + timedelta(hours=23, minutes=10), timedelta(minutes=90), 1000),  # across midnight
        (MON + timedelta(hours=10), timedelta(hours=7, minutes=59), 4000),  # 8 h = 40: the cap
        (MON + timedelta(hours=10), timedelta(hours=12), 4000),  # capped
        (MON + timedelta(hours=10), timedelta(hours=24), 4000),  # one whole period
        (MON + timedelta(hours=10), timedelta(hours=25), 4500),  # a period and a started hour
        (MON + timedelta(hours=8), timedelta(days=2, hours=2, minutes=30), 9500),  # Mon to Wed
    ],
)
def test_worked_examples(entered: datetime, stayed: timedelta, fen: int) -> None:
    assert _fee(entered, stayed) == fen


def test_residents_exempt_unless_the_tariff_says_otherwise() -> None:
    assert _fee(MON, timedelta(hours=5), resident=True) == 0
    charged = Tariff(residents_exempt=False, hourly_fen=500, daily_cap_fen=4000)
    assert _fee(MON, timedelta(hours=5), resident=True, tariff=charged) == 2500


def test_a_preregistered_visitor_has_the_longer_free_window() -> None:
    assert _fee(MON, timedelta(minutes=110), visitor=True) == 0
    assert _fee(MON, timedelta(minutes=110)) == 1000
    assert _fee(MON, timedelta(minutes=121), visitor=True) == 1500  # beyond it: all of it


def test_missed_reads_cost_the_flat_fee() -> None:
    flat = Tariff(missed_read_fee_fen=2000)
    assert missed_fee(flat, resident=False) == 2000
    assert missed_fee(flat, resident=True) == 0
    assert missed_fee(DEFAULT_TARIFF, resident=False) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"free_minutes": -1}, "free_minutes"),
        ({"hourly_fen": 100_001}, "hourly_fen"),
        ({"hourly_fen": 500, "daily_cap_fen": 400}, "daily_cap_fen"),
        ({"missed_read_fee_fen": -5}, "missed_read_fee_fen"),
        ({"visitor_free_minutes": 10**6}, "visitor_free_minutes"),
    ],
)
def test_a_tariff_out_of_range_is_refused_with_the_field(
    changes: dict[str, int], field: str
) -> None:
    with pytest.raises(InvalidTariff) as refused:
        Tariff(**changes)  # type: ignore[arg-type]
    assert refused.value.field == field
