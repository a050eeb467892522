"""The resident side: sign-in by phone and one-time code, the household link staff
confirm, reports with photos, the resident's own cases step by step, their rating and
reopening; and for staff, the household links to confirm and a resident report's
call-back number and photos.

Resident routes take a resident's token (`api._residents`), staff routes a staff token;
neither takes the other's. A case that is not the resident's is a 404 whether it exists
or not, so that case ids cannot be probed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import anyio
from fastapi import (
    APIRouter,
    Depends,
    Form,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

import cases
import notify
import registry
import residents
from api import _audit, _cases, _plan, _residents
from api._access import Permission, User
from api._db import Conn
from api._residents import ResidentDep
from api.deps import DbDep, StateDep, client_address, connection, purpose, require
from api.models import Token
from domain import Language

router = APIRouter(prefix="/residents", tags=["residents"])
CaseId = Annotated[int, Path(ge=1, le=2**62)]
PhotoN = Annotated[int, Path(ge=1, le=residents.MAX_PHOTOS)]
Linker = Annotated[User, Depends(require(Permission.MAINTAIN_HOUSEHOLDS))]
Worker = Annotated[User, Depends(require(Permission.WORK_CASES))]
Reader = Annotated[User, Depends(require(Permission.READ))]
Flat = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")
]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Short = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeRequest(_Body):
    phone: Annotated[str, StringConstraints(max_length=32)]
    language: Literal["zh", "en"] | None = None


class CodeSent(BaseModel):
    phone: str
    expires_in: int


class CodeCheck(_Body):
    phone: Annotated[str, StringConstraints(max_length=32)]
    code: Annotated[str, StringConstraints(pattern=r"^\s*\d{6}\s*$")]
    language: Literal["zh", "en"] | None = None  # the page's: what their messages are in


class HouseholdPublic(BaseModel):
    compound: str
    flat: str
    confirmed: bool


class ResidentPublic(BaseModel):
    phone: str
    language: Literal["zh", "en"]
    household: HouseholdPublic | None
    categories: list[str]  # open to this resident's reports (their compound's policy)
    anonymous_reports: bool  # their compound takes reports without a confirmed household


class LanguageUpdate(_Body):
    language: Literal["zh", "en"]


class HouseholdRequest(_Body):
    compound: Ident
    flat: Flat


class StepPublic(BaseModel):
    at: datetime
    step: str  # the transition
    words: dict[str, str]  # zh, en


class OwnCasePublic(BaseModel):
    id: int
    category: str
    description: str | None
    location: str | None
    state: str
    state_words: dict[str, str]
    opened_at: datetime
    resolved_at: datetime | None
    rating: int | None
    mine: bool  # reported by this resident: they may rate and reopen it
    anonymous: bool
    photos: int
    may_rate: bool
    may_reopen_until: datetime | None
    steps: list[StepPublic]


class PlanBox(BaseModel):
    id: str
    name: str | None
    x: float = Field(description="west edge, 0 (west) to 1 (east)")
    y: float = Field(description="north edge, 0 (north) to 1 (south)")
    w: float
    h: float


class OutlinePublic(BaseModel):
    compound: str
    aspect: float = Field(description="the plan's width over its height")
    buildings: list[PlanBox]


class OwnCasesPublic(BaseModel):
    data: list[OwnCasePublic]
    count: int


class RatingBody(_Body):
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Short | None = None


class ReopenBody(_Body):
    reason: Short


class LinkPublic(BaseModel):
    resident_id: int
    phone: str
    compound: str
    flat: str
    requested_at: datetime
    confirmed_at: datetime | None


class LinksPublic(BaseModel):
    data: list[LinkPublic]
    count: int


class LinkDecision(_Body):
    confirm: bool


class ResidentReportPublic(BaseModel):
    case_id: int
    anonymous: bool
    callback: str | None
    photos: int
    reported_at: datetime


# --- signing in -------------------------------------------------------------------------


@router.post(
    "/auth/code",
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: {"description": "too many codes for this number or client (Retry-After)"}},
)
async def send_code(body: CodeRequest, request: Request, state: StateDep) -> CodeSent:
    """Send a one-time sign-in code to the number through the resident channel (503
    while a production deployment has none: DAYUAN_RESIDENT_CHANNEL)."""
    if not state.config.resident_channel_ready:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "residents cannot sign in yet: the deployment has no DAYUAN_RESIDENT_CHANNEL",
        )
    phone = residents.Phone.parse(body.phone)
    client = client_address(request)
    now = state.clock.now()
    language = Language(body.language) if body.language else None

    def make() -> str:
        with connection(state) as conn:
            return residents.new_code(
                conn, key=_residents.code_key(state.key), phone=phone, client=client, now=now
            )

    code = await anyio.to_thread.run_sync(make)
    minutes = int(residents.CODE_TTL.total_seconds() // 60)
    text = residents.code_text(code, minutes, language)
    send = _residents.sender(state)
    try:
        await anyio.to_thread.run_sync(
            # The code in the subject: all an SMS carries (notify's `sms_text`).
            lambda: send(phone.number, text, text, key=f"code-{phone.number}-{now.timestamp()}")
        )
    except notify.DeliveryFailed as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the code could not be sent: {exc}"
        ) from exc
    return CodeSent(phone=phone.number, expires_in=int(residents.CODE_TTL.total_seconds()))


@router.post(
    "/auth/token",
    responses={
        401: {"description": "a wrong, expired or void code"},
        429: {"description": "too many tries for this number or client (Retry-After)"},
    },
)
def sign_in(body: CodeCheck, request: Request, state: StateDep, conn: DbDep) -> Token:
    phone = residents.Phone.parse(body.phone)
    now = state.clock.now()
    residents.check_code(
        conn,
        key=_residents.code_key(state.key),
        phone=phone,
        code=body.code,
        client=client_address(request),
        now=now,
    )
    resident = residents.signed_in(conn, phone, now)
    if body.language is not None and body.language != resident.language.value:
        residents.set_language(conn, resident.id, Language(body.language))
    ttl = state.config.resident_token_ttl_s
    token = _residents.issue(resident, key=state.key, now=now, ttl=timedelta(seconds=ttl))
    return Token(access_token=token, expires_in=ttl)


# --- the resident's own ------------------------------------------------------------------


def _me(state: StateDep, resident: residents.Resident) -> ResidentPublic:
    home = resident.household
    policy = state.workflow.policy.for_residents(home.compound if home else "*")
    return ResidentPublic(
        phone=resident.phone,
        language=resident.language.value,
        household=HouseholdPublic(compound=home.compound, flat=home.flat, confirmed=home.confirmed)
        if home
        else None,
        categories=sorted(policy.categories),
        anonymous_reports=policy.anonymous,
    )


@router.get("/me")
def me(resident: ResidentDep, state: StateDep) -> ResidentPublic:
    return _me(state, resident)


@router.put("/me/language")
def set_language(
    body: LanguageUpdate, resident: ResidentDep, state: StateDep, conn: DbDep
) -> ResidentPublic:
    residents.set_language(conn, resident.id, Language(body.language))
    found = residents.get_resident(conn, resident.id)
    assert found is not None
    return _me(state, found)


@router.post("/me/sign-out", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(resident: ResidentDep, conn: DbDep) -> None:
    """End this account's sign-in on every phone (a lost phone): all its tokens die."""
    residents.sign_out_everywhere(conn, resident.id)


@router.post("/me/household", status_code=status.HTTP_202_ACCEPTED)
def request_household(
    body: HouseholdRequest, resident: ResidentDep, state: StateDep, conn: DbDep
) -> ResidentPublic:
    """Ask to be linked to a flat; a grid worker of its grid or an admin confirms it."""
    after = residents.request_household(conn, resident, body.compound, body.flat, state.clock.now())
    return _me(state, after)


def _own_public(own: residents.OwnCase) -> OwnCasePublic:
    c = own.case
    return OwnCasePublic(
        id=c.id,
        category=c.category,
        description=c.description,
        location=c.location,
        state=c.state.value,
        state_words=own.state_words,
        opened_at=c.opened_at,
        resolved_at=c.resolved_at,
        rating=c.rating,
        mine=own.mine,
        anonymous=own.anonymous,
        photos=own.photos,
        may_rate=own.mine and c.state in (cases.State.RESOLVED, cases.State.CLOSED),
        may_reopen_until=own.may_reopen_until,
        steps=[StepPublic(at=s.at, step=s.transition, words=s.words) for s in own.steps],
    )


@router.post(
    "/me/reports",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"description": "a report about another household's flat"},
        413: {"description": "a photo (or the whole upload) is too large"},
        422: {"description": "a category, place or photo that is refused, with the reason"},
    },
)
def report(
    resident: ResidentDep,
    state: StateDep,
    conn: DbDep,
    category: Annotated[str, Form(pattern=r"^[a-z_]{1,64}$")],
    description: Annotated[str, Form(min_length=1, max_length=2000)],
    where: Annotated[Literal["flat", "building", "point", "text"], Form()],
    place: Annotated[str, Form(max_length=200)] = "",
    anonymous: Annotated[bool, Form()] = False,
    compound: Annotated[str | None, Form(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    callback: Annotated[str | None, Form(max_length=32)] = None,
    photos: Annotated[list[UploadFile] | None, Form()] = None,
) -> OwnCasePublic:
    """Report a problem (multipart form) with up to three photos: each is decoded and
    re-encoded (no EXIF, no GPS) or the report is refused with the reason."""
    files = [f for f in photos or [] if f.filename or f.size]
    if len(files) > residents.MAX_PHOTOS:
        raise residents.ReportRefused("photos", f"at most {residents.MAX_PHOTOS} photos")
    cleaned = [
        residents.clean_photo(n, f.file.read(residents.MAX_UPLOAD_BYTES + 1))
        for n, f in enumerate(files, start=1)
    ]
    draft = residents.Draft(
        category=category,
        description=description,
        where=residents.Where(where),
        place=place,
        anonymous=anonymous,
        compound=compound,
        callback=callback,
    )
    now = state.clock.now()
    case = residents.report(conn, state.workflow, resident, draft, cleaned, now)
    return _own_public(residents.own_case(conn, state.workflow, resident, case.id, now))


@router.get("/me/plan", responses={404: {"description": "no such compound"}})
def my_plan(
    resident: ResidentDep,
    conn: DbDep,
    compound: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
) -> OutlinePublic:
    """The buildings of the resident's compound (or `compound`, for a report before the
    household is confirmed) in the plan's frame, to tap a report's point on: the `x,y`
    of `where=point` are in this frame. Buildings only, nothing of who lives where."""
    home = resident.confirmed
    wanted = compound or (home.compound if home else None)
    if wanted is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "say which compound")
    found = _plan.outline(conn, wanted)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no compound {wanted!r}")
    return OutlinePublic.model_validate(found)


@router.get("/me/cases")
def my_cases(resident: ResidentDep, state: StateDep, conn: DbDep) -> OwnCasesPublic:
    """The resident's reports and their confirmed household's, newest first."""
    found = residents.own_cases(conn, state.workflow, resident, state.clock.now())
    return OwnCasesPublic(data=[_own_public(o) for o in found], count=len(found))


@router.get("/me/cases/{case_id}", responses={404: {"description": "not yours, or no such case"}})
def my_case(case_id: CaseId, resident: ResidentDep, state: StateDep, conn: DbDep) -> OwnCasePublic:
    return _own_public(
        residents.own_case(conn, state.workflow, resident, case_id, state.clock.now())
    )


def _jpeg(p: residents.Photo) -> Response:
    return Response(p.data, media_type=p.media_type, headers={"Cache-Control": "private, no-store"})


@router.get(
    "/me/cases/{case_id}/photos/{n}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "not yours"}},
)
def my_photo(
    case_id: CaseId, n: PhotoN, resident: ResidentDep, state: StateDep, conn: DbDep
) -> Response:
    residents.own_case(conn, state.workflow, resident, case_id, state.clock.now())
    found = residents.photo(conn, case_id, n)
    if found is None:
        raise residents.NotYours(f"photo {n} of case {case_id}")
    return _jpeg(found)


@router.post("/me/cases/{case_id}/rating", responses={404: {"description": "not yours"}})
def rate(
    case_id: CaseId, body: RatingBody, resident: ResidentDep, state: StateDep, conn: DbDep
) -> OwnCasePublic:
    """Rate your own report once it is done (1-5 stars and a comment)."""
    now = state.clock.now()
    residents.rate(
        conn, state.workflow, resident, case_id, rating=body.rating, comment=body.comment, now=now
    )
    return _own_public(residents.own_case(conn, state.workflow, resident, case_id, now))


@router.post("/me/cases/{case_id}/reopen", responses={404: {"description": "not yours"}})
def reopen(
    case_id: CaseId, body: ReopenBody, resident: ResidentDep, state: StateDep, conn: DbDep
) -> OwnCasePublic:
    """Open your report again, within the compound's window after it was done."""
    now = state.clock.now()
    residents.reopen(conn, state.workflow, resident, case_id, reason=body.reason, now=now)
    return _own_public(residents.own_case(conn, state.workflow, resident, case_id, now))


# --- staff -----------------------------------------------------------------------------


def _may_link(conn: Conn, user: User, compound: str, flat: str) -> bool:
    return not user.grid_bound or user.sees_grid(compound, registry.grid_of(conn, compound, flat))


@router.get("/links")
def links(
    compound: Ident,
    user: Linker,
    conn: DbDep,
    state: StateDep,
    request: Request,
    pending: bool = True,
) -> LinksPublic:
    """Residents' requests to be linked to a household (a grid worker: in their grids).
    Their numbers are personal data: the read is audited."""
    found = [
        link
        for link in residents.links(conn, compound, pending_only=pending)
        if _may_link(conn, user, link.compound, link.flat)
    ]
    _audit.record(
        conn,
        user,
        action="read_resident_links",
        subject=f"compound {compound}",
        route="GET /api/v1/residents/links",
        reason=purpose(request),
        client=client_address(request),
        now=state.clock.now(),
        detail={"residents": [link.resident_id for link in found]},
    )
    data = [LinkPublic.model_validate(link, from_attributes=True) for link in found]
    return LinksPublic(data=data, count=len(data))


@router.post("/links/{resident_id}", responses={404: {"description": "no such request"}})
def decide_link(
    resident_id: Annotated[int, Path(ge=1, le=2**62)],
    body: LinkDecision,
    user: Linker,
    conn: DbDep,
    state: StateDep,
) -> LinkPublic | None:
    """Confirm (or refuse) a resident's link to the household they named."""
    link = residents.link_of(conn, resident_id)
    if link is None or not _may_link(conn, user, link.compound, link.flat):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no household request of resident {resident_id}"
        )
    residents.decide_link(
        conn, resident_id, confirm=body.confirm, by=user.username, now=state.clock.now()
    )
    after = residents.link_of(conn, resident_id)
    return None if after is None else LinkPublic.model_validate(after, from_attributes=True)


def _staff_case(conn: Conn, user: User, case_id: int) -> residents.ReportRecord:
    try:
        case = cases.get_case(conn, case_id)
    except cases.CaseNotFound:
        case = None
    record = residents.report_record(conn, case_id) if case else None
    if case is None or record is None or not _cases.sees_case(user, case):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"case {case_id} is no resident's report (or not yours)"
        )
    return record


@router.get("/reports/{case_id}")
def resident_report(
    case_id: CaseId, user: Worker, conn: DbDep, state: StateDep, request: Request
) -> ResidentReportPublic:
    """What a resident's report carries beside its case: an anonymous report's call-back
    number (audited) and how many photos it has."""
    record = _staff_case(conn, user, case_id)
    if record.callback:
        _audit.record(
            conn,
            user,
            action="read_resident_callback",
            subject=f"case {case_id}",
            route="GET /api/v1/residents/reports/{case_id}",
            reason=purpose(request),
            client=client_address(request),
            now=state.clock.now(),
        )
    return ResidentReportPublic.model_validate(record, from_attributes=True)


@router.get(
    "/reports/{case_id}/photos/{n}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no such photo"}},
)
def report_photo(case_id: CaseId, n: PhotoN, user: Reader, conn: DbDep) -> Response:
    """A photo of a resident's report, for staff who see the case."""
    _staff_case(conn, user, case_id)
    found = residents.photo(conn, case_id, n)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} has no photo {n}")
    return _jpeg(found)
