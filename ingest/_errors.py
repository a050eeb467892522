"""The exception tree of `ingest`.

    IngestError
    ├── MigrationError      the schema cannot be brought up to date
    ├── StorageModeError    TimescaleDB was required but is not usable
    └── RegistryError       a compound file that cannot be loaded

The writer raises the gateway's `SinkUnavailable` / `SinkRejected`: it implements the
gateway's `Sink` port, so it speaks that port's errors.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error raised by `ingest` itself."""


class MigrationError(IngestError):
    pass


class StorageModeError(IngestError):
    pass


class RegistryError(IngestError):
    pass
