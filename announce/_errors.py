"""The announce package's exceptions, one tree, each carrying what a caller needs.

AnnounceError
├── InvalidAnnouncement   a draft or read that cannot be taken (field, reason)
├── AnnouncementNotFound  no such announcement in that compound (announcement_id)
└── AnnounceStoreError    the database failed: retry later (psycopg's error is the __cause__)
"""

from __future__ import annotations


class AnnounceError(Exception):
    """Base of every error raised by `announce`."""


class InvalidAnnouncement(AnnounceError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class AnnouncementNotFound(AnnounceError):
    def __init__(self, announcement_id: int) -> None:
        super().__init__(f"announcement {announcement_id} does not exist")
        self.announcement_id = announcement_id


class AnnounceStoreError(AnnounceError):
    """The database refused or failed; the psycopg error is chained as `__cause__`."""
