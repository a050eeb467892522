"""Parking: residents' vehicles per household and visitors' pre-registrations (the
registry's), the stays paired from the barriers' plate reads with their fees, the
takings of a period, the lot's occupancy beside the barriers' own count, and each
compound's tariff.

Plates are personal data: only admins and property staff (`read_access_events`) see
them, and each read of them is audited; other roles get the stays without the plate.
A grid worker reads the compounds of their grids only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

import parking
import registry
from api import _audit
from api._access import Permission, User
from api.deps import DbDep, Reader, StateDep, client_address, in_scope, purpose, require
from api.models import Message
from api.routes._params import Instant, Limit, Offset
from domain import InvalidPlate, parse_plate

router = APIRouter(prefix="/parking", tags=["parking"])
PlateReader = Annotated[User, Depends(require(Permission.READ_ACCESS_EVENTS))]
VehicleKeeper = Annotated[User, Depends(require(Permission.MANAGE_VEHICLES))]
TariffSetter = Annotated[User, Depends(require(Permission.SET_TARIFFS))]
_ID = r"^[A-Za-z0-9_-]{1,64}$"
_FLAT = r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$"
CompoundQuery = Annotated[str, Query(pattern=_ID, description="the compound")]
CompoundPath = Annotated[str, Path(pattern=_ID)]
PlatePath = Annotated[str, Path(min_length=1, max_length=32, description="e.g. 京A12345")]
FlatQuery = Annotated[str | None, Query(pattern=_FLAT, description="one household")]
PlateQuery = Annotated[
    str | None, Query(min_length=1, max_length=32, description="a plate or a part of it")
]

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"model": Message, "description": "a role without the permission, or another grid's"},
    404: {"model": Message, "description": "no such compound"},
    409: {"model": Message, "description": "the plate is registered to a household already"},
    422: {
        "model": Message,
        "description": "no plate, no household, or a window or period that cannot be",
    },
}


def _plate(value: str) -> str:
    try:
        return parse_plate(value)
    except InvalidPlate as exc:
        raise ValueError(f"{exc.reason} (e.g. 京A12345, new-energy 沪AD12345)") from exc


class VehicleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=_ID)
    flat: str = Field(pattern=_FLAT, description="the household (building-unit-flat)")
    plate: str = Field(max_length=32, description="a mainland plate, e.g. 京A12345")

    _check = field_validator("plate")(_plate)


class VehiclePublic(BaseModel):
    compound: str
    plate: str
    flat: str
    added_at: datetime
    added_by: str


class VehiclesPublic(BaseModel):
    data: list[VehiclePublic]
    count: int


class VisitorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=_ID)
    plate: str = Field(max_length=32, description="a mainland plate, e.g. 沪AD12345")
    valid_from: AwareDatetime
    valid_to: AwareDatetime = Field(
        description=f"after valid_from, at most {registry.MAX_VISITOR_WINDOW.days} days later"
    )
    flat: str | None = Field(None, pattern=_FLAT, description="the household visited")

    _check = field_validator("plate")(_plate)


class VisitorPublic(BaseModel):
    id: int
    compound: str
    plate: str
    flat: str | None
    valid_from: datetime
    valid_to: datetime
    current: bool
    registered_by: str


class VisitorsPublic(BaseModel):
    data: list[VisitorPublic]
    count: int


class StayPublic(BaseModel):
    id: int
    compound: str
    plate: str | None = Field(description="only for roles that may read plates")
    status: str = Field(description="open, closed, exit_missed or entry_missed")
    entered_at: datetime | None
    exited_at: datetime | None
    entry_device: str | None
    exit_device: str | None
    resident: bool
    visitor: bool = Field(description="a pre-registered visitor at the entry")
    fee_fen: int = Field(description="what it cost; an open stay: what leaving now costs")
    minutes: int | None = Field(
        description="how long (an open stay: until now); null when a read was missed"
    )


class StaysPublic(BaseModel):
    data: list[StayPublic]
    count: int


class OccupancyPublic(BaseModel):
    compound: str
    open_stays: int = Field(description="cars inside by the paired plate reads")
    barrier_occupancy: int | None = Field(description="the barriers' own newest count")
    barrier_capacity: int | None
    reported_at: datetime | None


class FeeTotalPublic(BaseModel):
    compound: str
    start: datetime = Field(description="the period's start (`from`), inclusive")
    end: datetime = Field(description="its end (`to`), exclusive")
    fee_fen: int = Field(description="the fees of the stays that ended in the period")
    stays: int = Field(description="the stays that ended in it")
    charged: int = Field(description="of them, those with a fee")


class TariffBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    free_minutes: int = Field(ge=0, le=parking.MAX_FREE_MINUTES)
    hourly_fen: int = Field(ge=0, le=parking.MAX_HOURLY_FEN, description="fen per started hour")
    daily_cap_fen: int = Field(
        ge=0, le=24 * parking.MAX_HOURLY_FEN, description="at most per 24 h from the entry"
    )
    residents_exempt: bool
    visitor_free_minutes: int = Field(ge=0, le=parking.MAX_FREE_MINUTES)
    missed_read_fee_fen: int = Field(
        ge=0, le=parking.MAX_FLAT_FEN, description="a stay whose entry or exit was missed"
    )


class TariffPublic(TariffBody):
    compound: str


def _compound(conn: DbDep, user: User, compound: str) -> None:
    if compound not in registry.compound_ids(conn):
        raise parking.UnknownCompound(compound)
    in_scope(user, compound)


def _audited(
    conn: DbDep, user: User, request: Request, now: datetime, what: str, subject: str, rows: int
) -> None:
    _audit.record(
        conn,
        user,
        action=f"read_{what}",
        subject=subject,
        route=f"GET /api/v1/parking/{what}",
        reason=purpose(request),
        client=client_address(request),
        now=now,
        detail={"rows": rows},
    )


@router.get("/vehicles", responses=REFUSALS)
def list_vehicles(
    user: PlateReader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    compound: CompoundQuery,
    flat: FlatQuery = None,
) -> VehiclesPublic:
    """Residents' registered cars, per household: personal data, every read audited."""
    _compound(conn, user, compound)
    found = registry.vehicles(conn, compound, flat)
    subject = f"compound={compound} flat={flat or '*'}"
    _audited(conn, user, request, state.clock.now(), "vehicles", subject, len(found))
    data = [VehiclePublic(**_fields(v)) for v in found]
    return VehiclesPublic(data=data, count=len(data))


@router.post("/vehicles", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def add_vehicle(
    body: VehicleCreate, user: VehicleKeeper, conn: DbDep, state: StateDep
) -> VehiclePublic:
    """Register a household's car: its stays are a resident's (exempt when the tariff
    says so) and the unknown-plate overstay rule leaves it alone."""
    _compound(conn, user, body.compound)
    added = registry.add_vehicle(
        conn, body.compound, body.flat, body.plate, actor=user.username, now=state.clock.now()
    )
    return VehiclePublic(**_fields(added))


@router.delete("/vehicles/{compound}/{plate}", responses=REFUSALS)
def remove_vehicle(
    compound: CompoundPath, plate: PlatePath, user: VehicleKeeper, conn: DbDep, state: StateDep
) -> VehiclePublic:
    """Remove a registration; the plate is deleted with it (retention `vehicle_plate`)."""
    _compound(conn, user, compound)
    gone = registry.remove_vehicle(
        conn, compound, plate, actor=user.username, now=state.clock.now()
    )
    return VehiclePublic(**_fields(gone))


@router.get("/visitors", responses=REFUSALS)
def list_visitors(
    user: PlateReader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    compound: CompoundQuery,
) -> VisitorsPublic:
    """Visitor passes not yet ended: personal data, every read audited."""
    _compound(conn, user, compound)
    now = state.clock.now()
    found = registry.visitor_passes(conn, compound, ending_after=now)
    _audited(conn, user, request, now, "visitors", f"compound={compound}", len(found))
    data = [_visitor(v, now) for v in found]
    return VisitorsPublic(data=data, count=len(data))


@router.post("/visitors", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def register_visitor(
    body: VisitorCreate, user: VehicleKeeper, conn: DbDep, state: StateDep
) -> VisitorPublic:
    """Pre-register a visitor's car for a window: inside it the visitor's free minutes
    apply and the overstay rule waits for the window's end."""
    _compound(conn, user, body.compound)
    now = state.clock.now()
    made = registry.register_visitor(
        conn,
        body.compound,
        body.plate,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        flat=body.flat,
        actor=user.username,
        now=now,
    )
    return _visitor(made, now)


@router.get("/stays", responses=REFUSALS)
def list_stays(
    user: Reader,
    conn: DbDep,
    state: StateDep,
    request: Request,
    compound: CompoundQuery,
    open_: Annotated[bool, Query(alias="open", description="only cars inside")] = False,
    plate: PlateQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> StaysPublic:
    """Stays with their fee and duration, newest first; the plate only for roles that
    may read plates (audited), who may also look a plate up (a part of it will do)."""
    _compound(conn, user, compound)
    plates = user.may(Permission.READ_ACCESS_EVENTS)
    if plate and not plates:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "looking stays up by plate is for staff who may read plates"
        )
    now = state.clock.now()
    found, count = parking.stays(
        conn, compound, now=now, open_only=open_, plate=plate, limit=limit, offset=offset
    )
    if plates:
        # A look-up is marked, its plate left out: the log outlives the stays' retention.
        subject = f"compound={compound}" + (" by-plate" if plate else "")
        _audited(conn, user, request, now, "stays", subject, len(found))
    data = [_stay(s, now, plates) for s in found]
    return StaysPublic(data=data, count=count)


@router.get("/fees", responses=REFUSALS)
def get_fee_total(
    user: Reader,
    conn: DbDep,
    compound: CompoundQuery,
    start: Annotated[Instant, Query(alias="from", description="inclusive, with offset")],
    end: Annotated[Instant, Query(alias="to", description="exclusive, with offset")],
) -> FeeTotalPublic:
    """The takings of a period (e.g. today, from the local midnight): the fees of the
    stays that ended in it, at most a year; no plates."""
    _compound(conn, user, compound)
    return FeeTotalPublic(**_fields(parking.fee_total(conn, compound, start, end)))


@router.get("/occupancy", responses=REFUSALS)
def get_occupancy(user: Reader, conn: DbDep, compound: CompoundQuery) -> OccupancyPublic:
    _compound(conn, user, compound)
    return OccupancyPublic(**_fields(parking.occupancy(conn, compound)))


@router.get("/tariff", responses=REFUSALS)
def get_tariff(user: Reader, conn: DbDep, compound: CompoundQuery) -> TariffPublic:
    """The compound's tariff (the default until an administrator sets one)."""
    _compound(conn, user, compound)
    return TariffPublic(compound=compound, **_fields(parking.tariff_of(conn, compound)))


@router.put("/tariff", responses=REFUSALS)
def put_tariff(
    body: TariffBody, user: TariffSetter, conn: DbDep, state: StateDep, compound: CompoundQuery
) -> TariffPublic:
    """Set the compound's tariff; stays already ended keep their fee."""
    _compound(conn, user, compound)
    tariff = parking.Tariff(**body.model_dump())
    parking.set_tariff(conn, compound, tariff, actor=user.username, now=state.clock.now())
    return TariffPublic(compound=compound, **body.model_dump())


def _stay(s: parking.Stay, now: datetime, plates: bool) -> StayPublic:
    took = s.duration(now)
    minutes = None if took is None else int(took.total_seconds() // 60)
    return StayPublic(**{**_fields(s), "plate": s.plate if plates else None}, minutes=minutes)


def _visitor(v: registry.VisitorPass, now: datetime) -> VisitorPublic:
    return VisitorPublic(**_fields(v), current=v.current(now))


def _fields(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}
