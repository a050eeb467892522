"""Storage: migrations (TimescaleDB or plain PostgreSQL), the registry the gateway
validates against, the batch writer behind the gateway's `Sink` port, device presence,
and maintenance of the plain-PostgreSQL path.
"""

from ingest._classes import DataClass, data_classes
from ingest._errors import IngestError, MigrationError, RegistryError, StorageModeError
from ingest._maintenance import MaintenanceResult, maintain, refresh_rollups
from ingest._presence import DEFAULT_SILENCE_FACTOR, Presence, presence
from ingest._registry import (
    DeviceRef,
    LoadResult,
    device_refs,
    load_registry,
    read_compound_file,
)
from ingest._schema import StorageMode, current_mode, migrations, upgrade
from ingest._writer import Writer, WriteResult, prepare_connection

__all__ = [
    "DEFAULT_SILENCE_FACTOR",
    "DataClass",
    "DeviceRef",
    "IngestError",
    "LoadResult",
    "MaintenanceResult",
    "MigrationError",
    "Presence",
    "RegistryError",
    "StorageMode",
    "StorageModeError",
    "WriteResult",
    "Writer",
    "current_mode",
    "data_classes",
    "device_refs",
    "load_registry",
    "maintain",
    "migrations",
    "prepare_connection",
    "presence",
    "read_compound_file",
    "refresh_rollups",
    "upgrade",
]
