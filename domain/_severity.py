"""How urgent an alarm or a case is: the rule engine's four severities, which cases
carry over from their alarm and person-opened cases use as urgency. One enumeration
for both, so that an alarm's severity is a case's without translation."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"

    @property
    def rank(self) -> int:
        """Higher is more urgent (for ordering and thresholds)."""
        return _RANK[self]


_RANK = {Severity.WARNING: 1, Severity.MINOR: 2, Severity.MAJOR: 3, Severity.CRITICAL: 4}
