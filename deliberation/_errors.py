"""The deliberation package's exceptions, one tree, each carrying what a caller needs.

DeliberationError
├── InvalidMatter          a draft, participant, opinion or decision that cannot be taken
│                          (field, reason)
├── MatterNotFound         no such matter in that compound (matter_id)
├── NotEntitled            a voice or a vote from someone the matter does not give one
│                          (who, reason)
├── WrongStage             not at this point of the matter's life (matter_id, status, reason)
│   └── AlreadyVoted       the household or party voted, and votes are final (voter)
└── DeliberationStoreError the database failed: retry later (psycopg's error is the __cause__)
"""

from __future__ import annotations


class DeliberationError(Exception):
    """Base of every error raised by `deliberation`."""


class InvalidMatter(DeliberationError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class MatterNotFound(DeliberationError):
    def __init__(self, matter_id: int) -> None:
        super().__init__(f"deliberation {matter_id} does not exist")
        self.matter_id = matter_id


class NotEntitled(DeliberationError):
    def __init__(self, who: str, reason: str) -> None:
        super().__init__(f"{who}: {reason}")
        self.who = who
        self.reason = reason


class WrongStage(DeliberationError):
    def __init__(self, matter_id: int, status: str, reason: str) -> None:
        super().__init__(f"deliberation {matter_id} is {status}: {reason}")
        self.matter_id = matter_id
        self.status = status
        self.reason = reason


class AlreadyVoted(WrongStage):
    def __init__(self, matter_id: int, voter: str) -> None:
        super().__init__(
            matter_id,
            "voting",
            f"{voter} has voted already and this matter's votes cannot be changed",
        )
        self.voter = voter


class DeliberationStoreError(DeliberationError):
    """The database refused or failed; the psycopg error is chained as `__cause__`."""
