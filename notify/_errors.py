"""The notify package's exceptions, one tree, each carrying the data a caller needs.

NotifyError
├── DeliveryFailed       a channel did not take a message, or no channel understands the URL
│                        (channel: scheme and host only, reason, permanent)
├── NotifyStoreError     the database failed: retry later (psycopg's error is the __cause__)
└── LinkRefused          an acknowledgement link that cannot be followed (kind: malformed,
                         forged, expired, used, unknown, closed; reason: a sentence)
"""

from __future__ import annotations


class NotifyError(Exception):
    """Base of every error raised by `notify`."""


class DeliveryFailed(NotifyError):
    """A channel refused or failed; `permanent` when retrying the same cannot help."""

    def __init__(self, channel: str, reason: str, *, permanent: bool = False) -> None:
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason
        self.permanent = permanent


class NotifyStoreError(NotifyError):
    """The database refused or failed; the psycopg error is chained as `__cause__`."""


class LinkRefused(NotifyError):
    """An acknowledgement link refused: `kind` for the caller to map (the API: 404, 403,
    410), `reason` a sentence for the person holding the phone."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason
