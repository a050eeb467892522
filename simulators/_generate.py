"""Generating compound files: an old compound (or a district of them) from a few numbers.

It owns the shape of a generated compound: the plan (rows of south-facing slab
buildings with their stairwells, a grid of lanes, entrances on the south and north
sides), the population (households with seven-colour tags, pseudonymous residents
with birth years), the governance (grids with "1 + 1 + N" teams, the five parties,
staff) and the devices (face gates, barriers, street lights, elderly-care kits).
The defaults are the reference compound of DOMAIN.md; `Shares` documents the
figures it does not give. Every choice is drawn from a `random.Random` seeded by
(seed, compound index), so a seed always yields the same file and compounds of a
district are independent of one another.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import domain
from domain import HouseholdTag, Kind, PartyKind, StaffRole


@dataclass(frozen=True, kw_only=True)
class CompoundSize:
    """How big each generated compound is. The defaults give the reference compound."""

    compounds: int = 1
    buildings: int = 16  # 576 flats: enough households for the reference compound's 520 spaces
    units_per_building: int = 3  # stairwells (单元) per building
    floors: int = 6  # the walk-up of the 1980s-90s: no lift, six floors
    flats_per_floor: int = 2  # two flats per landing per stairwell
    parking_spaces: int = 520  # DOMAIN.md: the renovated reference compound
    lights: int | None = None  # None: one every LIGHT_SPACING_M along the lanes
    entrances: int = 2  # pedestrian entrances with face gates
    car_entrances: int = 2  # car entrances with barriers and plate cameras
    buildings_per_grid: int = 6  # about 200 households per grid worker team
    volunteers_per_grid: int = 3  # the N of "1 + 1 + N"

    def __post_init__(self) -> None:
        counts = {
            "compounds": self.compounds,
            "buildings": self.buildings,
            "units_per_building": self.units_per_building,
            "floors": self.floors,
            "flats_per_floor": self.flats_per_floor,
            "buildings_per_grid": self.buildings_per_grid,
        }
        for name, value in counts.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.floors > 99 or self.flats_per_floor > 99:
            raise ValueError("floors and flats_per_floor must each be below 100 (flat numbers)")
        for name, value in {
            "parking_spaces": self.parking_spaces,
            "entrances": self.entrances,
            "car_entrances": self.car_entrances,
            "volunteers_per_grid": self.volunteers_per_grid,
            "lights": self.lights or 0,
        }.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True, kw_only=True)
class Shares:
    """Population shares. The first three are DOMAIN.md's reference compound; the rest are
    choices, each with its reason."""

    aged_60_plus: float = 0.2086  # of residents (DOMAIN.md)
    sold_on: float = 0.2492  # of flats (DOMAIN.md): buyers are younger, no elders placed there
    rented: float = 0.2162  # of flats (DOMAIN.md)
    vacant: float = 0.05  # of flats: old compounds empty slowly as owners move to new estates
    empty_nest: float = 0.14  # of flats: ~2/3 of the 60+ live without children in such estates
    disabled: float = 0.03  # of occupied households: China's ~6% disabled population, by household
    hardship: float = 0.03  # of occupied households: urban subsistence allowance (低保) ~2-3%
    party_member: float = 0.20  # of occupied households: a former party-committee compound
    wearable: float = 0.35  # of elderly flats: a wearable is optional in the care kit

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"share {name} must be within [0, 1], got {value}")
        if self.vacant + self.rented + self.empty_nest > 1.0:
            raise ValueError("vacant + rented + empty_nest shares exceed all flats")


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where the compounds are: a real city of old compounds by default."""

    city: str = "Hangzhou"
    lat: float = 30.27
    lon: float = 120.16
    timezone: str = "Asia/Shanghai"
    as_of_year: int = 2025  # birth years are drawn against it; fixed so a seed stays a seed
    built: int = 1992  # "old" means built before ~2004

    def __post_init__(self) -> None:
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"({self.lat}, {self.lon}) is not a place on Earth")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc


# The plan, in metres.
UNIT_FRONTAGE_M = 20.0  # one stairwell with two flats per landing
BUILDING_DEPTH_M = 12.0  # a slab building, north-south
ROW_GAP_M = 25.0  # sunlight spacing between rows: ~1.4x the height of six floors
COLUMN_GAP_M = 18.0  # a lane plus greenery between buildings side by side
EDGE_M = 15.0  # perimeter lane inside the wall
LIGHT_SPACING_M = 30.0  # a 6 m pole every 30 m keeps a residential lane above 5 lx
DISTRICT_SPREAD = 0.5  # compounds of a district vary by ±50% around the given size
DISTRICT_PITCH_DEG = 0.006  # ~600 m between neighbouring compounds' centres
# Ages of the 60+ (10-year bands), following China's 2020 census shape.
ELDER_AGE_BANDS = ((60, 69, 0.50), (70, 79, 0.32), (80, 95, 0.18))
HIGH_AGE = 80  # the "elderly household" tag (高龄) marks a resident of 80 or more
WEARABLE_HEARTBEAT_S = 300  # wearables report vitals every five minutes
# The resident of the example scenario: where the compound has this flat it is
# always an empty-nest flat with a wearable, so example scenarios run on any generated file.
DEMO_FLAT = "3-2-301"
COMPOUND_NAMES = (
    "Zhaohui Xincun",
    "Caihe Xincun",
    "Xixi Xincun",
    "Hemu Xincun",
    "Daguan Xincun",
    "Chaoming Xincun",
    "Wenhui Xincun",
    "Jingfang Xincun",
    "Shenhua Xincun",
    "Dongxin Xincun",
    "Xiaohe Xincun",
    "Huanbei Xincun",
    "Gudang Xincun",
    "Cuiyuan Xincun",
    "Wulin Xincun",
    "Xintang Xincun",
    "Qiutao Xincun",
    "Sandun Xincun",
    "Jianguo Xincun",
    "Changqing Xincun",
)


def generate_compound(
    *,
    seed: int = 0,
    size: CompoundSize | None = None,
    shares: Shares | None = None,
    place: Place | None = None,
) -> domain.CompoundFile:
    """A compound file of `size.compounds` compounds; the same arguments give the same file."""
    size = size or CompoundSize()
    shares = shares or Shares()
    place = place or Place()
    compounds = [
        _Builder(index, size, shares, place, seed).build() for index in range(size.compounds)
    ]
    return domain.CompoundFile.model_validate(
        {"compounds": compounds, "organisations": organisations(size.compounds)}
    )


# How a city's organisations split its compounds (DOMAIN.md: a community of old compounds
# holds ~3,000 households, five compounds of the reference size; a subdistrict 196
# compounds). Each compound's parties are these organisations' presence in it.
COMMUNITY_SPAN = 5  # compounds per community: one residents' committee, one care centre
PROPERTY_SPAN = 10  # compounds per property company (one company runs several)
POLICE_SPAN = 20  # compounds per community police station
SUBDISTRICT_SPAN = 196  # compounds per subdistrict office, above its communities


def compound_id(index: int, compounds: int) -> str:
    width = max(3, len(str(compounds)))
    return f"C{index + 1:0{width}d}"


def _organisation_of(kind: PartyKind, index: int, compounds: int) -> str:
    """The organisation that is compound `index`'s party of `kind`."""
    if kind is PartyKind.PROPERTY_COMPANY:
        return f"property-{index // PROPERTY_SPAN + 1:03d}"
    if kind is PartyKind.RESIDENTS_COMMITTEE:
        return f"community-{index // COMMUNITY_SPAN + 1:03d}"
    if kind is PartyKind.ELDERLY_CARE_CENTRE:
        return f"care-{index // COMMUNITY_SPAN + 1:03d}"
    if kind is PartyKind.COMMUNITY_POLICE:
        return f"police-{index // POLICE_SPAN + 1:03d}"
    if kind is PartyKind.SUBDISTRICT_OFFICE:
        return f"subdistrict-{index // SUBDISTRICT_SPAN + 1:02d}"
    return f"{compound_id(index, compounds)}-owners"  # the compound's own


def organisations(compounds: int) -> list[dict[str, Any]]:
    """The organisations of `compounds` generated compounds."""
    found: dict[str, dict[str, Any]] = {}
    names = {
        PartyKind.PROPERTY_COMPANY: ("property_company", "Property company"),
        PartyKind.RESIDENTS_COMMITTEE: ("residents_committee", "Community residents' committee"),
        PartyKind.ELDERLY_CARE_CENTRE: ("elderly_care_centre", "Elderly-care centre"),
        PartyKind.COMMUNITY_POLICE: ("community_police", "Community police station"),
        PartyKind.OWNERS_COMMITTEE: ("owners_committee", "Owners' committee"),
    }
    for index in range(compounds):
        office = f"subdistrict-{index // SUBDISTRICT_SPAN + 1:02d}"
        found.setdefault(
            office,
            {
                "id": office,
                "name": f"Subdistrict office {office[-2:]}",
                "kind": "subdistrict_office",
            },
        )
        for kind, (word, label) in names.items():
            org = _organisation_of(kind, index, compounds)
            entry = found.setdefault(
                org, {"id": org, "name": f"{label} {org.rsplit('-', 1)[-1]}", "kind": word}
            )
            if kind is PartyKind.RESIDENTS_COMMITTEE:
                entry["parent"] = office
    return list(found.values())


@dataclass
class _Flat:
    building: int
    unit: int
    number: str

    @property
    def address(self) -> str:
        return f"{self.building}-{self.unit}-{self.number}"


@dataclass
class _Household:
    flat: _Flat
    tags: set[HouseholdTag] = field(default_factory=set)
    ages: list[int] = field(default_factory=list)
    sold_on: bool = False
    wearable: bool = False


class _Builder:
    """One compound's worth of drawing, as plain dicts validated at the end."""

    def __init__(self, index: int, size: CompoundSize, shares: Shares, place: Place, seed: int):
        self.rng = random.Random(f"dayuan-compound:{seed}:{index}")
        self.shares = shares
        self.place = place
        self.index = index
        self.size = self._vary(size, index)
        self.cid = compound_id(index, size.compounds)
        self.cols = max(1, round(math.sqrt(self.size.buildings / 2)))
        self.rows = math.ceil(self.size.buildings / self.cols)

    def _vary(self, size: CompoundSize, index: int) -> CompoundSize:
        if size.compounds == 1 or index == 0:
            return size
        factor = 1 + self.rng.uniform(-DISTRICT_SPREAD, DISTRICT_SPREAD)
        buildings = max(1, round(size.buildings * factor))
        spaces = round(size.parking_spaces * buildings / size.buildings)
        return CompoundSize(
            compounds=size.compounds,
            buildings=buildings,
            units_per_building=size.units_per_building,
            floors=size.floors,
            flats_per_floor=size.flats_per_floor,
            parking_spaces=spaces,
            lights=size.lights,
            entrances=size.entrances,
            car_entrances=size.car_entrances,
            buildings_per_grid=size.buildings_per_grid,
            volunteers_per_grid=size.volunteers_per_grid,
        )

    # --- the plan -----------------------------------------------------------------------

    @property
    def building_width(self) -> float:
        return self.size.units_per_building * UNIT_FRONTAGE_M

    @property
    def x_pitch(self) -> float:
        return self.building_width + COLUMN_GAP_M

    @property
    def y_pitch(self) -> float:
        return BUILDING_DEPTH_M + ROW_GAP_M

    @property
    def extent(self) -> tuple[float, float]:
        return self.cols * self.x_pitch + 2 * EDGE_M, self.rows * self.y_pitch + 2 * EDGE_M

    def building_centre(self, number: int) -> tuple[float, float]:
        row, col = divmod(number - 1, self.cols)
        x = EDGE_M + col * self.x_pitch + self.x_pitch / 2
        y = EDGE_M + row * self.y_pitch + self.y_pitch / 2
        return round(x, 1), round(y, 1)

    def flats(self) -> Iterator[_Flat]:
        s = self.size
        for b in range(1, s.buildings + 1):
            for u in range(1, s.units_per_building + 1):
                for floor in range(1, s.floors + 1):
                    for k in range(1, s.flats_per_floor + 1):
                        yield _Flat(b, u, f"{floor}{k:02d}")

    def buildings(self) -> list[dict[str, Any]]:
        s = self.size
        units_flats: dict[tuple[int, int], list[str]] = {}
        for flat in self.flats():
            units_flats.setdefault((flat.building, flat.unit), []).append(flat.number)
        result = []
        for b in range(1, s.buildings + 1):
            x, y = self.building_centre(b)
            units = [
                {"id": str(u), "flats": units_flats[(b, u)]}
                for u in range(1, s.units_per_building + 1)
            ]
            result.append(
                {
                    "id": str(b),
                    "name": f"Building {b}",
                    "floors": s.floors,
                    "x": x,
                    "y": y,
                    "width": self.building_width,
                    "depth": BUILDING_DEPTH_M,
                    "units": units,
                }
            )
        return result

    def lanes(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """East-west lanes between the rows, north-south lanes between the columns."""
        width, height = self.extent
        east_west = [
            ((0.0, EDGE_M + r * self.y_pitch), (width, EDGE_M + r * self.y_pitch))
            for r in range(self.rows + 1)
        ]
        north_south = [
            ((EDGE_M + c * self.x_pitch, 0.0), (EDGE_M + c * self.x_pitch, height))
            for c in range(self.cols + 1)
        ]
        return east_west + north_south

    # --- the population -----------------------------------------------------------------

    def households(self) -> list[_Household]:
        households = [_Household(flat) for flat in self.flats()]
        n = len(households)
        order = list(range(n))
        self.rng.shuffle(order)
        demo = next((i for i, h in enumerate(households) if h.flat.address == DEMO_FLAT), None)
        if demo is not None:  # the example's resident leads the empty-nest draw
            order.remove(demo)
            order.insert(0, demo)
        n_empty_nest = round(self.shares.empty_nest * n)
        n_vacant = round(self.shares.vacant * n)
        n_rented = round(self.shares.rented * n)
        empty_nest = order[:n_empty_nest]
        vacant = order[n_empty_nest : n_empty_nest + n_vacant]
        rented = order[n_empty_nest + n_vacant : n_empty_nest + n_vacant + n_rented]
        others = order[n_empty_nest + n_vacant + n_rented :]
        for i in empty_nest:
            self._fill_empty_nest(households[i], demo=i == demo)
        for i in vacant:
            households[i].tags.add(HouseholdTag.VACANT)
        for i in rented:
            households[i].tags.add(HouseholdTag.RENTED)
            households[i].ages = self._tenant_ages()
        for i in others:
            households[i].ages = self._family_ages()
        self._mark_sold_on(households, rented + others)
        self._place_elders(households, others)
        self._tag(households)
        return households

    def _fill_empty_nest(self, household: _Household, *, demo: bool) -> None:
        household.tags.add(HouseholdTag.EMPTY_NEST)
        alone = demo or self.rng.random() < 0.45  # ~45% of empty-nest elders live alone
        household.ages = [self._elder_age() for _ in range(1 if alone else 2)]
        household.wearable = demo

    def _elder_age(self) -> int:
        roll, acc = self.rng.random(), 0.0
        for low, high, weight in ELDER_AGE_BANDS:
            acc += weight
            if roll < acc:
                return self.rng.randint(low, high)
        return self.rng.randint(ELDER_AGE_BANDS[-1][0], ELDER_AGE_BANDS[-1][1])

    def _tenant_ages(self) -> list[int]:
        count = self.rng.choices((1, 2, 3), weights=(0.45, 0.40, 0.15))[0]
        return [self.rng.randint(20, 45) for _ in range(count)]

    def _family_ages(self) -> list[int]:
        count = self.rng.choices((1, 2, 3, 4, 5), weights=(0.05, 0.20, 0.35, 0.25, 0.15))[0]
        adults = [self.rng.randint(25, 59) for _ in range(min(count, 2))]
        children = [self.rng.randint(0, 24) for _ in range(count - len(adults))]
        return adults + children

    def _mark_sold_on(self, households: list[_Household], candidates: list[int]) -> None:
        count = min(len(candidates), round(self.shares.sold_on * len(households)))
        for i in self.rng.sample(candidates, count):
            households[i].sold_on = True

    def _place_elders(self, households: list[_Household], others: list[int]) -> None:
        """Turn family members into elders until the 60+ share of residents is met."""
        residents = sum(len(h.ages) for h in households)
        target = round(self.shares.aged_60_plus * residents)
        placed = sum(1 for h in households for age in h.ages if age >= 60)
        # A younger member always stays: an all-elder household would be empty-nest.
        slots = [
            (i, k)
            for i in others
            if not households[i].sold_on and len(households[i].ages) > 1
            for k in range(1 if len(households[i].ages) == 2 else 2)
        ]
        self.rng.shuffle(slots)
        for i, k in slots[: max(0, target - placed)]:
            households[i].ages[k] = self._elder_age()

    def _tag(self, households: list[_Household]) -> None:
        occupied = [h for h in households if h.ages]
        for household in occupied:
            if any(age >= HIGH_AGE for age in household.ages):
                household.tags.add(HouseholdTag.ELDERLY)
        for tag, share in (
            (HouseholdTag.DISABLED, self.shares.disabled),
            (HouseholdTag.HARDSHIP, self.shares.hardship),
            (HouseholdTag.PARTY_MEMBER, self.shares.party_member),
        ):
            for household in self.rng.sample(occupied, round(share * len(occupied))):
                household.tags.add(tag)
        for household in occupied:
            if _cared_for(household) and not household.wearable:
                household.wearable = self.rng.random() < self.shares.wearable

    def residents(self, household: _Household) -> list[dict[str, Any]]:
        alone = len(household.ages) == 1
        result = []
        for age in household.ages:
            resident: dict[str, Any] = {
                "ref": f"p{self.rng.getrandbits(64):016x}",
                "birth_year": self.place.as_of_year - age,
                "lives_alone": alone,
            }
            if age >= 60:
                resident["contact"] = "PLACEHOLDER: family contact 000-0000-0000 (fake)"
                resident["health_notes"] = "PLACEHOLDER: no real health data (simulated resident)"
            result.append(resident)
        return result

    # --- governance ---------------------------------------------------------------------

    def parties(self, grids: int) -> list[dict[str, Any]]:
        c = self.cid
        fixed = [
            (f"{c}-property", PartyKind.PROPERTY_COMPANY, "property company"),
            (f"{c}-rc", PartyKind.RESIDENTS_COMMITTEE, "residents' committee"),
            (f"{c}-oc", PartyKind.OWNERS_COMMITTEE, "owners' committee"),
            (f"{c}-care", PartyKind.ELDERLY_CARE_CENTRE, "elderly-care centre"),
            (f"{c}-police", PartyKind.COMMUNITY_POLICE, "community police"),
        ]
        parties = [
            {
                "id": i,
                "kind": k.value,
                "name": f"{c} {name}",
                "organisation": _organisation_of(k, self.index, self.size.compounds),
            }
            for i, k, name in fixed
        ]
        parties += [
            {
                "id": f"{c}-grid{g}-team",
                "kind": PartyKind.GRID_TEAM.value,
                "name": f"{c} grid {g} team",
            }
            for g in range(1, grids + 1)
        ]
        # The escalation ladder's top rung (issue 20): the subdistrict office in the compound.
        office = {"id": f"{c}-sub", "kind": PartyKind.SUBDISTRICT_OFFICE.value}
        organisation = _organisation_of(
            PartyKind.SUBDISTRICT_OFFICE, self.index, self.size.compounds
        )
        parties.append({**office, "name": f"{c} subdistrict office", "organisation": organisation})
        return parties

    def grids_and_staff(
        self, elder_flats: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        c, s = self.cid, self.size
        grid_count = math.ceil(s.buildings / s.buildings_per_grid)
        staff: list[dict[str, Any]] = [
            {
                "id": f"{c}-admin",
                "name": f"{c} administrator",
                "role": StaffRole.ADMIN.value,
                "party": f"{c}-rc",
            },
        ]
        flats = s.buildings * s.units_per_building * s.floors * s.flats_per_floor
        property_staff = max(3, round(flats / 100))  # one on shift per ~100 flats
        responders = max(2, math.ceil(elder_flats / 30))  # ~30 elderly flats per responder
        staff += _staff(c, "property", "property staff", StaffRole.PROPERTY_STAFF, property_staff)
        staff += _staff(c, "care", "care responder", StaffRole.CARE_RESPONDER, responders)
        staff += _staff(c, "sub", "subdistrict supervisor", StaffRole.SUPERVISOR, 1)
        grids = []
        for g in range(1, grid_count + 1):
            first = (g - 1) * s.buildings_per_grid + 1
            last = min(s.buildings, g * s.buildings_per_grid)
            team = _grid_team(c, g, s.volunteers_per_grid)
            staff += team
            grids.append(
                {
                    "id": f"{c}-grid{g}",
                    "name": f"Grid {g}",
                    "buildings": [str(b) for b in range(first, last + 1)],
                    "team": {
                        "cadre": team[0]["id"],
                        "community_worker": team[1]["id"],
                        "volunteers": [m["id"] for m in team[2:]],
                    },
                }
            )
        return grids, staff

    # --- devices ------------------------------------------------------------------------

    def gates(self) -> list[dict[str, Any]]:
        width, height = self.extent
        devices = []
        for k in range(1, self.size.entrances + 1):
            x, y, side = _entrance(k, width, height)
            devices.append(
                {
                    "id": f"{self.cid}-G-E{k}",
                    "kind": Kind.GATE.value,
                    "model": "face_gate",
                    "name": f"{side} pedestrian entrance",
                    "x": x,
                    "y": y,
                }
            )
        for b in range(1, self.size.buildings + 1):
            cx, cy = self.building_centre(b)
            for u in range(1, self.size.units_per_building + 1):
                x = cx - self.building_width / 2 + (u - 0.5) * UNIT_FRONTAGE_M
                devices.append(
                    {
                        "id": f"{self.cid}-G-{b}-{u}",
                        "kind": Kind.GATE.value,
                        "model": "face_gate",
                        "name": f"Building {b} unit {u} door",
                        "address": f"{b}-{u}",
                        "x": round(x, 1),
                        "y": round(cy - BUILDING_DEPTH_M / 2, 1),
                    }
                )
        return devices

    def barriers(self) -> list[dict[str, Any]]:
        width, height = self.extent
        devices = []
        for k in range(1, self.size.car_entrances + 1):
            x, y, side = _entrance(k, width, height)
            devices.append(
                {
                    "id": f"{self.cid}-B-{k}",
                    "kind": Kind.BARRIER.value,
                    "model": "plate_barrier",
                    "name": f"{side} car entrance",
                    "x": round(x + 8.0, 1),
                    "y": y,
                }
            )
        return devices

    def lights(self) -> list[dict[str, Any]]:
        lanes = self.lanes()
        length = sum(math.dist(a, b) for a, b in lanes)
        count = self.size.lights
        if count is None:
            count = max(1, round(length / LIGHT_SPACING_M))
        spacing = length / count if count else 0.0
        return [
            {
                "id": f"{self.cid}-L-{n + 1:03d}",
                "kind": Kind.LIGHT.value,
                "model": "led_light",
                "name": f"Street light L-{n + 1:03d}",
                "x": x,
                "y": y,
            }
            for n, (x, y) in enumerate(_along(lanes, spacing, count))
        ]

    def elder_kits(self, households: list[_Household]) -> list[dict[str, Any]]:
        devices = []
        for household in households:
            if not _cared_for(household):
                continue
            flat = household.flat
            x, y = self.building_centre(flat.building)
            models = ["sos_pendant", "fall_detector", "door_sensor", "motion_sensor"]
            if household.wearable:
                models.append("wearable")
            for model in models:
                device = {
                    "id": f"{self.cid}-E-{flat.address}-{model.split('_')[0]}",
                    "kind": Kind.ELDER.value,
                    "model": model,
                    "address": flat.address,
                    "x": x,
                    "y": y,
                }
                if model == "wearable":
                    device["heartbeat_s"] = WEARABLE_HEARTBEAT_S
                devices.append(device)
        return devices

    # --- all together -------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        households = self.households()
        elder_flats = sum(1 for h in households if _cared_for(h))
        grids, staff = self.grids_and_staff(elder_flats)
        name = COMPOUND_NAMES[self.index % len(COMPOUND_NAMES)]
        if self.index >= len(COMPOUND_NAMES):
            name += f" {self.index // len(COMPOUND_NAMES) + 1}"
        row, col = divmod(self.index, max(1, math.isqrt(self.size.compounds - 1) + 1))
        return {
            "id": self.cid,
            "name": name,
            "address": f"{name}, {self.place.city} (simulated)",
            "lat": round(self.place.lat + row * DISTRICT_PITCH_DEG, 6),
            "lon": round(self.place.lon + col * DISTRICT_PITCH_DEG, 6),
            "timezone": self.place.timezone,
            "built": self.place.built,
            "parking_spaces": self.size.parking_spaces,
            "buildings": self.buildings(),
            "households": [
                {
                    "flat": h.flat.address,
                    "tags": sorted(t.value for t in h.tags),
                    "residents": self.residents(h),
                }
                for h in households
            ],
            "grids": grids,
            "parties": self.parties(len(grids)),
            "staff": staff,
            "devices": self.gates() + self.barriers() + self.lights() + self.elder_kits(households),
        }


def _cared_for(household: _Household) -> bool:
    """The flats that get an elderly-care kit: the inactivity rule watches exactly these."""
    return bool({HouseholdTag.ELDERLY, HouseholdTag.EMPTY_NEST} & household.tags)


def _staff(cid: str, party: str, label: str, role: StaffRole, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{cid}-{party}-{n}",
            "name": f"{cid} {label} {n}",
            "role": role.value,
            "party": f"{cid}-{party}",
        }
        for n in range(1, count + 1)
    ]


def _grid_team(cid: str, grid: int, volunteers: int) -> list[dict[str, Any]]:
    """ "1 + 1 + N": the cadre first, the community worker second, then the volunteers."""
    labels = ["cadre", "community worker"] + [f"volunteer {n}" for n in range(1, volunteers + 1)]
    return [
        {
            "id": f"{cid}-grid{grid}-{n}",
            "name": f"{cid} grid {grid} {label}",
            "role": StaffRole.GRID_WORKER.value,
            "party": f"{cid}-grid{grid}-team",
            "grids": [f"{cid}-grid{grid}"],
        }
        for n, label in enumerate(labels, start=1)
    ]


def _entrance(k: int, width: float, height: float) -> tuple[float, float, str]:
    """Entrances go round the wall: south (the main one), north, east, west, then again."""
    sides = (
        ("South", width / 2, 0.0),
        ("North", width / 2, height),
        ("East", width, height / 2),
        ("West", 0.0, height / 2),
    )
    side, x, y = sides[(k - 1) % 4]
    lap = (k - 1) // 4
    if lap:
        side += f" {lap + 1}"
        x, y = (x + 25.0 * lap, y) if y in (0.0, height) else (x, y + 25.0 * lap)
    return round(x, 1), round(y, 1), side


def _along(
    lanes: list[tuple[tuple[float, float], tuple[float, float]]], spacing: float, count: int
) -> Iterator[tuple[float, float]]:
    """`count` points every `spacing` metres along the lanes, walked one after another."""
    placed, carry = 0, spacing / 2
    for (x0, y0), (x1, y1) in lanes:
        length = math.dist((x0, y0), (x1, y1))
        position = carry
        while position <= length and placed < count:
            f = position / length
            yield round(x0 + f * (x1 - x0), 1), round(y0 + f * (y1 - y0), 1)
            placed += 1
            position += spacing
        carry = position - length
