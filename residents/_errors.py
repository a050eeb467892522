"""The residents package's exceptions, one tree, each carrying what a caller needs.

ResidentsError
├── SignInRefused     a code not sent or not accepted (reason); `retry_after_s` when throttled
│   └── Throttled     too many attempts for this number or client (retry_after_s)
├── NotYours          no such case or photo among the resident's own (404, never 403)
├── ReportRefused     a report, rating or reopening the policy refuses (field, reason)
│   └── NotYourHousehold  a report about, or a claim on, someone else's flat
├── PhotoRefused      an upload that is not a photo we keep (n, reason)
│   └── PhotoTooLarge     more bytes than a photo has
└── ResidentsStoreError  the database failed (psycopg's error is the __cause__)
"""

from __future__ import annotations


class ResidentsError(Exception):
    """Base of every error raised by `residents`."""


class SignInRefused(ResidentsError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Throttled(SignInRefused):
    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(f"{reason}; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class NotYours(ResidentsError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} does not exist (or is not yours)")
        self.what = what


class ReportRefused(ResidentsError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotYourHousehold(ReportRefused):
    pass


class PhotoRefused(ResidentsError):
    def __init__(self, n: int, reason: str) -> None:
        super().__init__(f"photo {n}: {reason}")
        self.n = n
        self.reason = reason


class PhotoTooLarge(PhotoRefused):
    pass


class ResidentsStoreError(ResidentsError):
    """The database failed: retry later."""
