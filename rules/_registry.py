"""What the rules know of the world: devices with their flat, grid and household tags,
and each compound's coordinates and time zone. Built from the compound file's models
or read from the registry tables; immutable once built (a refresh builds a new one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from domain import DEFAULT_HEARTBEAT_S, Compound, Kind, Topic
from rules._errors import RegistryUnavailable


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    lat: float
    lon: float
    zone: ZoneInfo


@dataclass(frozen=True, slots=True)
class Flat:
    compound: str
    address: str  # building-unit-flat
    grid: str | None
    tags: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.compound}/{self.address}"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    compound: str
    kind: Kind
    model: str
    address: str | None
    heartbeat_s: int
    flat: str | None = None  # the address when it names a flat
    grid: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _DeviceRow:
    id: str
    compound: str
    kind: Kind
    model: str
    address: str | None
    heartbeat_s: int


@dataclass(frozen=True, slots=True)
class Registry:
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    flats: dict[str, Flat] = field(default_factory=dict)  # by Flat.key

    def device(self, topic: Topic) -> DeviceInfo:
        """The device a message came from; a device newer than this registry gets defaults."""
        known = self.devices.get(topic.device)
        if known is not None:
            return known
        return DeviceInfo(
            topic.device, topic.compound, topic.kind, "", None, DEFAULT_HEARTBEAT_S[topic.kind]
        )

    def devices_at(self, flat: Flat) -> list[DeviceInfo]:
        return [
            d
            for d in self.devices.values()
            if d.compound == flat.compound and d.flat == flat.address
        ]

    @classmethod
    def build(cls, compounds: Iterable[Compound], devices: Iterable[_DeviceRow]) -> Registry:
        sites: dict[str, Site] = {}
        flats: dict[str, Flat] = {}
        grids: dict[tuple[str, str], str] = {}
        for c in compounds:
            sites[c.id] = Site(c.id, c.lat, c.lon, ZoneInfo(c.timezone))
            for grid in c.grids:
                grids.update({(c.id, b): grid.id for b in grid.buildings})
            for h in c.households:
                grid_id = grids.get((c.id, h.flat.split("-")[0]))
                flat = Flat(c.id, h.flat, grid_id, frozenset(t.value for t in h.tags))
                flats[flat.key] = flat
        infos = {d.id: _info(d, flats, grids) for d in devices}
        return cls(infos, sites, flats)

    @classmethod
    def from_compounds(cls, compounds: Iterable[Compound]) -> Registry:
        listed = list(compounds)
        rows = [
            _DeviceRow(d.id, c.id, d.kind, d.model, d.address, d.heartbeat())
            for c in listed
            for d in c.devices
        ]
        return cls.build(listed, rows)

    @classmethod
    def from_database(cls, conn: psycopg.Connection[Any]) -> Registry:
        try:
            compounds = [
                _compound(r)
                for r in conn.execute(
                    "SELECT id, name, lat, lon, timezone, document FROM compounds"
                )
            ]
            devices = [
                _DeviceRow(str(r[0]), str(r[1]), Kind(r[2]), str(r[3]), r[4], int(r[5]))
                for r in conn.execute(
                    "SELECT id, compound_id, kind, model, address, heartbeat_s FROM devices"
                )
            ]
        except psycopg.Error as exc:
            raise RegistryUnavailable(f"cannot read the registry: {exc}") from exc
        return cls.build(compounds, devices)


def _compound(row: tuple[Any, ...]) -> Compound:
    document = dict(row[5] or {})
    document.update(id=row[0], name=row[1], lat=row[2], lon=row[3], timezone=row[4], devices=[])
    return Compound.model_validate(document)


def _info(d: _DeviceRow, flats: dict[str, Flat], grids: dict[tuple[str, str], str]) -> DeviceInfo:
    parts = d.address.split("-") if d.address else []
    flat = flats.get(f"{d.compound}/{d.address}") if len(parts) == 3 else None
    grid = grids.get((d.compound, parts[0])) if parts else None
    return DeviceInfo(
        d.id,
        d.compound,
        d.kind,
        d.model,
        d.address,
        d.heartbeat_s,
        flat=d.address if len(parts) == 3 else None,
        grid=grid,
        tags=flat.tags if flat else frozenset(),
    )
