"""The exception tree of `ingest`.

    IngestError
    ├── MigrationError      the schema cannot be brought up to date
    ├── StorageModeError    TimescaleDB was required but is not usable
    └── StorageUnavailable  a read or maintenance step failed in the database: retry later

The writer raises the port's `domain.SinkUnavailable` / `domain.SinkRejected`: it
implements the gateway's `Sink`, so it speaks that port's errors.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error raised by `ingest` itself."""


class MigrationError(IngestError):
    pass


class StorageModeError(IngestError):
    pass


class StorageUnavailable(IngestError):
    """The database failed a read or a maintenance step; psycopg's error is the cause."""
