"""Plates: what a person types or a camera reads becomes one comparable form; what is
no plate is refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import InvalidPlate, KnownPlates, normalize_plate, parse_plate


@pytest.mark.parametrize(
    ("typed", "plate"),
    [
        ("京A12345", "京A12345"),
        ("浙a·12345", "浙A12345"),
        ("沪 AD 12345", "沪AD12345"),  # small new-energy: D third
        ("粤B12345F", "粤B12345F"),  # large new-energy: F last
        ("苏Ｅ１２３４５", "苏E12345"),  # full-width letters and digits
        ("鲁B1234学", "鲁B1234学"),
    ],
)
def test_plates_in_normal_form(typed: str, plate: str) -> None:
    assert parse_plate(typed) == plate


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("ABC1234", "province"),
        ("京A1234", "has 6 characters"),
        ("京A123456789", "has 11 characters"),
        ("京AO1234", "I and O"),
        ("京1A2345", "expected province"),
        ("沪A1234567"[:8], "D or F"),
        ("x" * 40, "longer than 32"),
    ],
)
def test_garbage_is_refused_with_its_reason(typed: str, reason: str) -> None:
    with pytest.raises(InvalidPlate, match=reason):
        parse_plate(typed)


def test_known_plates_residents_always_visitors_in_their_window() -> None:
    t = datetime(2026, 12, 7, 8, tzinfo=UTC)
    book = KnownPlates.build([("c1", "浙A12345")], [("c1", "沪AD12345", t, t + timedelta(hours=4))])
    assert book.known("c1", "浙a 12345", t - timedelta(days=300))
    assert not book.known("c2", "浙A12345", t)  # another compound's resident
    assert book.known("c1", "沪AD12345", t + timedelta(hours=3, minutes=59))
    assert not book.known("c1", "沪AD12345", t + timedelta(hours=4))
    assert not book.known("c1", "沪AD12345", t - timedelta(seconds=1))
    assert normalize_plate("沪ad-12345") == "沪AD12345"
