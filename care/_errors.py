"""The care package's exceptions, one tree, each carrying what a caller needs.

CareError
├── InvalidCare      a plan, visit, schedule or delivery that cannot be taken (field, reason)
├── CareNotFound     no such plan, follow-up or schedule in that compound (what, item_id)
└── CareStoreError   the database failed: retry later (psycopg's error is the __cause__)
"""

from __future__ import annotations


class CareError(Exception):
    """Base of every error raised by `care`."""


class InvalidCare(CareError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CareNotFound(CareError):
    def __init__(self, what: str, item_id: int) -> None:
        super().__init__(f"{what} {item_id} does not exist in that compound")
        self.what = what
        self.item_id = item_id


class CareStoreError(CareError):
    """The database refused or failed; the psycopg error is chained as `__cause__`."""
