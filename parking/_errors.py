"""Parking's exceptions, one tree, each carrying the data a caller needs.

ParkingError
├── InvalidTariff       a tariff value out of its range (field, reason)
├── UnknownCompound     no such compound in the registry (compound)
├── InvalidPeriod       a period of takings that cannot be (reason)
└── ParkingStoreError   the database failed or is unreachable (psycopg's error the __cause__)
"""

from __future__ import annotations


class ParkingError(Exception):
    """Base of every error raised by `parking`."""


class InvalidTariff(ParkingError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnknownCompound(ParkingError):
    def __init__(self, compound: str) -> None:
        super().__init__(f"no compound {compound}")
        self.compound = compound


class InvalidPeriod(ParkingError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ParkingStoreError(ParkingError):
    """The database failed or is unreachable: retry later."""
