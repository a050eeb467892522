"""Storage: the time series (TimescaleDB or plain PostgreSQL), the batch writer behind
the gateway's `domain.Sink` port, device presence, maintenance of the plain-PostgreSQL
path, the history the rules replay, a history bulk-copied in (`copy_telemetry`), the
acks devices stored and the pages others list (last values, hourly series, events, dead
letters), the one migration runner every package's migrations go through, and the
embedded PostgreSQL of development.
"""

from ingest._acks import StoredAck, acks_for
from ingest._bulk import TelemetryRow, copy_telemetry
from ingest._classes import DataClass, data_classes
from ingest._embedded import EmbeddedDatabase, embedded_postgres, start_pgserver
from ingest._errors import IngestError, MigrationError, StorageModeError, StorageUnavailable
from ingest._lists import (
    EventKey,
    dead_letters,
    dead_letters_by_reason,
    events,
    hourly_series,
    last_values,
)
from ingest._maintenance import MaintenanceResult, MaintenanceStatus, maintain, refresh_rollups
from ingest._presence import DEFAULT_SILENCE_FACTOR, Presence, presence
from ingest._reads import (
    PLATE_READ_LATENESS,
    HistoryRow,
    PlateRead,
    history,
    newest_ts,
    plate_reads,
)
from ingest._schema import Migration, StorageMode, current_mode, migrations, upgrade
from ingest._writer import Writer, WriteResult, prepare_connection

__all__ = [
    "DEFAULT_SILENCE_FACTOR",
    "PLATE_READ_LATENESS",
    "DataClass",
    "EmbeddedDatabase",
    "EventKey",
    "HistoryRow",
    "IngestError",
    "MaintenanceResult",
    "MaintenanceStatus",
    "Migration",
    "MigrationError",
    "PlateRead",
    "Presence",
    "StorageMode",
    "StorageModeError",
    "StorageUnavailable",
    "StoredAck",
    "TelemetryRow",
    "WriteResult",
    "Writer",
    "acks_for",
    "copy_telemetry",
    "current_mode",
    "data_classes",
    "dead_letters",
    "dead_letters_by_reason",
    "embedded_postgres",
    "events",
    "history",
    "hourly_series",
    "last_values",
    "maintain",
    "migrations",
    "newest_ts",
    "plate_reads",
    "prepare_connection",
    "presence",
    "refresh_rollups",
    "start_pgserver",
    "upgrade",
]
