"""The reports' one exception tree:

ReportsError
└── InvalidPeriod      a month or range that cannot be reported (`reason` says why)
"""

from __future__ import annotations


class ReportsError(Exception):
    """Anything the reports refuse or fail at."""


class InvalidPeriod(ReportsError):
    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.value = value
        self.reason = reason
