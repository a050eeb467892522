"""The compound file (`format: dayuan.compound/1`): one or many compounds, as a registry.

It is what `dayuan compound generate` writes and `dayuan registry load` reads. Every
person in it is pseudonymous (`ref`), devices hang off standard addresses
(`building-unit-flat`, e.g. `3-2-301`) and carry plan coordinates in metres so that
a plan of the compound can be drawn without map tiles.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain._payloads import Ident
from domain._roster import QuietHours, Roster
from domain._topic import Kind

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
# A contact point: an Apprise URL (`mailto://...`, `json://...`) or one of notify's own
# (`hmac+https://...`, `kannel://...`). Only its shape is checked here; the notifier
# parses it when it delivers, and a URL it cannot use fails that delivery with a reason.
ContactUrl = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9+.-]{0,31}://\S+$", max_length=2000)
]
# Contact points per staff member: a few, in order of preference.
MAX_CONTACTS = 8
Address = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,16}(-[A-Za-z0-9_]{1,16}){0,2}$")
]

# How often a device says "I am here" when nothing else happens, by kind (seconds). A
# device's own `heartbeat_s` overrides it; silence for a multiple of it means offline.
DEFAULT_HEARTBEAT_S: dict[Kind, int] = {
    Kind.GATE: 60,  # mains powered, wired network: cheap to hear from often
    Kind.BARRIER: 60,
    Kind.LIGHT: 300,  # hundreds per compound on a shared power-line/LoRa link
    Kind.ELDER: 600,  # battery devices; telecare link monitors poll in minutes, not seconds
}


class HouseholdTag(StrEnum):
    """The seven-colour map (七彩图)."""

    PARTY_MEMBER = "party_member"
    EMPTY_NEST = "empty_nest"
    ELDERLY = "elderly"
    HARDSHIP = "hardship"
    DISABLED = "disabled"
    RENTED = "rented"
    VACANT = "vacant"


class PartyKind(StrEnum):
    PROPERTY_COMPANY = "property_company"
    RESIDENTS_COMMITTEE = "residents_committee"
    OWNERS_COMMITTEE = "owners_committee"
    ELDERLY_CARE_CENTRE = "elderly_care_centre"
    COMMUNITY_POLICE = "community_police"
    GRID_TEAM = "grid_team"
    # The escalation ladder's top rung: the office above the compound's community.
    SUBDISTRICT_OFFICE = "subdistrict_office"


class StaffRole(StrEnum):
    ADMIN = "admin"
    PROPERTY_STAFF = "property_staff"
    GRID_WORKER = "grid_worker"
    CARE_RESPONDER = "care_responder"
    VIEWER = "viewer"
    # The upper rungs' people (a residents' committee, a subdistrict office): they see
    # their compounds' cases and act on them, take them over, and nothing else.
    SUPERVISOR = "supervisor"


class Language(StrEnum):
    """The language a person reads their notifications in (the compounds are in China)."""

    ZH = "zh"
    EN = "en"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(_Model):
    id: ShortId
    flats: list[ShortId] = Field(default_factory=list)


class Building(_Model):
    id: ShortId
    name: Name | None = None
    floors: Annotated[int, Field(ge=1, le=100)] = 6
    x: float = 0.0  # plan position of the building's centre, metres east of the origin
    y: float = 0.0  # metres north of the origin
    width: Annotated[float, Field(gt=0)] = 12.0
    depth: Annotated[float, Field(gt=0)] = 60.0
    units: list[Unit] = Field(default_factory=list)


class Resident(_Model):
    ref: Ident  # pseudonymous person reference
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    lives_alone: bool = False
    # Contact and health details: only care responders and admins may read them.
    contact: Name | None = None
    health_notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class EmergencyContact(_Model):
    """A relative or neighbour told of an SOS or fall in the flat (what and where, never
    health details)."""

    name: Name
    contact: ContactUrl
    language: Language = Language.ZH


class Household(_Model):
    flat: Address  # standard address building-unit-flat
    tags: list[HouseholdTag] = Field(default_factory=list)
    residents: list[Resident] = Field(default_factory=list)
    emergency_contacts: list[EmergencyContact] = Field(
        default_factory=list, max_length=MAX_CONTACTS
    )
    # The household agreed that its emergency contacts be told. Without it the registry
    # keeps none of them and nobody outside the staff is told.
    consent: bool = False


class GridTeam(_Model):
    """ "1 + 1 + N": one cadre, one community worker, N volunteers (staff ids)."""

    cadre: Ident | None = None
    community_worker: Ident | None = None
    volunteers: list[Ident] = Field(default_factory=list)


class Grid(_Model):
    id: Ident
    name: Name | None = None
    buildings: list[ShortId] = Field(default_factory=list)
    team: GridTeam = Field(default_factory=GridTeam)


class Party(_Model):
    id: Ident
    kind: PartyKind  # its role in the routing
    name: Name
    # The organisation this party is in the compound (it then serves the compound).
    organisation: Ident | None = None


# An organisation's kind is a word of its own (property_company, elderly_care_centre,
# residents_committee, subdistrict_office, social_organisation, ...), not a fixed list.
OrganisationKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Organisation(_Model):
    """An organisation that owns or serves compounds; its accounts see only those (and
    those of the organisations under it)."""

    id: Ident
    name: Name
    kind: OrganisationKind
    parent: Ident | None = None
    compounds: list[Ident] = Field(default_factory=list)


class Staff(_Model):
    id: Ident
    name: Name
    role: StaffRole
    party: Ident | None = None
    grids: list[Ident] = Field(default_factory=list)
    # Apprise URLs, in order of preference; they may hold credentials, so the registry
    # keeps them in their own table and nothing shows more than scheme and host.
    contacts: list[ContactUrl] = Field(default_factory=list, max_length=MAX_CONTACTS)
    # Non-critical notifications to this person wait until the period ends; an SOS or
    # fall (or any critical case) never waits.
    quiet_hours: QuietHours | None = None
    # What their notifications are written in.
    language: Language = Language.ZH


class Device(_Model):
    id: Ident
    kind: Kind
    model: Ident  # e.g. face_gate, plate_barrier, led_light, sos_pendant, fall_detector
    name: Name | None = None
    address: Address | None = None  # building, building-unit or building-unit-flat
    x: float | None = None
    y: float | None = None
    heartbeat_s: Annotated[int, Field(ge=5, le=86_400)] | None = None

    def heartbeat(self) -> int:
        return self.heartbeat_s or DEFAULT_HEARTBEAT_S[self.kind]


class Compound(_Model):
    id: Ident
    name: Name
    address: Name | None = None
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    timezone: Name = "Asia/Shanghai"
    built: Annotated[int, Field(ge=1800, le=2100)] | None = None
    parking_spaces: Annotated[int, Field(ge=0)] = 0
    buildings: list[Building] = Field(default_factory=list)
    households: list[Household] = Field(default_factory=list)
    grids: list[Grid] = Field(default_factory=list)
    parties: list[Party] = Field(default_factory=list)
    staff: list[Staff] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    # On-call rosters: at most one per party and grid (no grid: the party's default).
    rosters: list[Roster] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_device_ids(self) -> Compound:
        seen: set[str] = set()
        for device in self.devices:
            if device.id in seen:
                raise ValueError(f"device id {device.id!r} appears twice in compound {self.id!r}")
            seen.add(device.id)
        return self

    @model_validator(mode="after")
    def _known_timezone(self) -> Compound:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        return self

    @model_validator(mode="after")
    def _one_roster_per_party_and_grid(self) -> Compound:
        seen: set[tuple[str, str | None]] = set()
        for r in self.rosters:
            if (r.party, r.grid) in seen:
                where = f"grid {r.grid!r}" if r.grid else "all grids"
                raise ValueError(f"two rosters for party {r.party!r} and {where}")
            seen.add((r.party, r.grid))
        return self


class CompoundFile(_Model):
    format: Literal["dayuan.compound/1"] = "dayuan.compound/1"
    compounds: list[Compound]
    organisations: list[Organisation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> CompoundFile:
        compounds: set[str] = set()
        devices: set[str] = set()
        for compound in self.compounds:
            if compound.id in compounds:
                raise ValueError(f"compound id {compound.id!r} appears twice")
            compounds.add(compound.id)
            for device in compound.devices:
                if device.id in devices:
                    raise ValueError(f"device id {device.id!r} appears in two compounds")
                devices.add(device.id)
        return self
