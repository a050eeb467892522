"""The minimal registry: compounds and devices, loaded from a compound file.

Loading a file makes the database match it for the compounds it names: devices that
the file no longer lists are removed from those compounds. Other compounds are left
alone, so a district can be loaded one compound file at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from domain import CompoundFile, Kind
from ingest._conn import Conn
from ingest._errors import RegistryError


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the gateway checks a topic against."""

    compound: str
    kind: Kind
    heartbeat_s: int


def read_compound_file(path: Path) -> CompoundFile:
    """Parse a YAML or JSON compound file; errors name the file and the field."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        document = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise RegistryError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from exc
    try:
        return CompoundFile.model_validate(document)
    except ValidationError as exc:
        raise RegistryError(f"{path} is not a valid compound file:\n{exc}") from exc


@dataclass(frozen=True, slots=True)
class LoadResult:
    compounds: int
    devices: int
    removed: int


def load_registry(conn: Conn, registry: CompoundFile) -> LoadResult:
    """Upsert the file's compounds and devices in one transaction."""
    removed = 0
    with conn.transaction():
        for compound in registry.compounds:
            document = compound.model_dump(mode="json", exclude={"devices"})
            conn.execute(
                "INSERT INTO compounds (id, name, lat, lon, timezone, document)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                " name = excluded.name, lat = excluded.lat, lon = excluded.lon,"
                " timezone = excluded.timezone, document = excluded.document, updated_at = now()",
                (
                    compound.id,
                    compound.name,
                    compound.lat,
                    compound.lon,
                    compound.timezone,
                    Jsonb(document),
                ),
            )
            rows = [
                (
                    d.id,
                    compound.id,
                    d.kind.value,
                    d.model,
                    d.name,
                    d.address,
                    d.x,
                    d.y,
                    d.heartbeat(),
                )
                for d in compound.devices
            ]
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO devices (id, compound_id, kind, model, name, address, x, y,"
                    " heartbeat_s) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET compound_id = excluded.compound_id,"
                    " kind = excluded.kind, model = excluded.model, name = excluded.name,"
                    " address = excluded.address, x = excluded.x, y = excluded.y,"
                    " heartbeat_s = excluded.heartbeat_s, updated_at = now()",
                    rows,
                )
            gone = conn.execute(
                "DELETE FROM devices WHERE compound_id = %s AND NOT (id = ANY(%s))",
                (compound.id, [d.id for d in compound.devices]),
            )
            removed += max(gone.rowcount, 0)
    devices = sum(len(c.devices) for c in registry.compounds)
    return LoadResult(compounds=len(registry.compounds), devices=devices, removed=removed)


def device_refs(conn: Conn) -> dict[str, DeviceRef]:
    """Every registered device, for the gateway's topic checks."""
    rows = conn.execute("SELECT id, compound_id, kind, heartbeat_s FROM devices").fetchall()
    return {str(r[0]): DeviceRef(str(r[1]), Kind(r[2]), int(r[3])) for r in rows}
