"""What the rules know of the world: devices with their flat, grid and household tags,
each compound's coordinates and time zone, and the plates the compound knows
(residents' cars, visitors' pre-registered windows: `registry.known_plates`). Built from
the compound file's models or read from the registry tables; immutable once built (a
refresh builds a new one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

import registry
from domain import DEFAULT_HEARTBEAT_S, Compound, Kind, KnownPlates, Topic
from registry import DeviceRow
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
class World:
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    flats: dict[str, Flat] = field(default_factory=dict)  # by Flat.key
    plates: KnownPlates = field(default_factory=KnownPlates)

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
    def build(
        cls,
        compounds: Iterable[Compound],
        devices: Iterable[DeviceRow],
        plates: KnownPlates | None = None,
    ) -> World:
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
        return cls(infos, sites, flats, plates or KnownPlates())

    def with_plates(self, plates: KnownPlates) -> World:
        return World(self.devices, self.sites, self.flats, plates)

    @classmethod
    def from_compounds(cls, compounds: Iterable[Compound]) -> World:
        listed = list(compounds)
        rows = [
            DeviceRow(d.id, c.id, d.kind, d.model, d.address, d.heartbeat())
            for c in listed
            for d in c.devices
        ]
        return cls.build(listed, rows)

    @classmethod
    def from_database(cls, conn: psycopg.Connection[Any]) -> World:
        try:
            return cls.build(
                registry.compounds(conn), registry.devices(conn), registry.known_plates(conn)
            )
        except registry.RegistryError as exc:
            raise RegistryUnavailable(f"cannot read the registry: {exc}") from exc


def _info(d: DeviceRow, flats: dict[str, Flat], grids: dict[tuple[str, str], str]) -> DeviceInfo:
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
