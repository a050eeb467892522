"""Open311 GeoReport v2 at /open311/v2/ (https://wiki.open311.org/GeoReport_v2), so that
existing 311 clients and city platforms submit and follow requests: `services`,
`services/{code}`, `requests` (POST and GET) and `requests/{id}`, each in `.json` and
`.xml`, answers and errors in the specification's shapes (`<services><service>`,
`<service_requests><request>`, `<errors><error><code>/<description>`; JSON: a list).

`jurisdiction_id` is a compound id (required: one endpoint serves many compounds);
`service_code` a report category the deployment opens to the public
(`DAYUAN_OPEN311_SERVICES`); a POST needs a client application's `api_key` (created
by an administrator: `/api/v1/open311/clients`) and opens a case through the cases
package's report intake, so it is dispatched, supervised and counted like any other;
its `service_request_id` is the case id, returned at once (no tokens). Status is
`open` for the case's open states, `closed` for the others. The submitter's name,
e-mail and phone are not stored (the specification lets a server ignore them).

These routes are left out of /openapi.json: the specification is their contract, and
their errors are its, not the API's `{"detail"}`.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

import cases
import domain
import registry
from api import _open311
from api._access import Permission, User
from api._db import Conn
from api._state import AppState
from api.deps import DbDep, StateDep, connection, get_state, platform_only, require

router = APIRouter(prefix="/open311/v2", include_in_schema=False)
admin = APIRouter(prefix="/open311/clients", tags=["open311"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]

FORMATS = ("json", "xml")
# The specification's defaults for GET requests: the last 90 days, at most 1000.
DEFAULT_SPAN = timedelta(days=90)
MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_DESCRIPTION = 4000  # the specification's limit
MAX_TEXT = 500  # address_string, address_id: an address, not a document
MAX_URL = 2000
MAX_IDS = 100  # service_request_id=1,2,...: a client following its own few


class Open311Error(Exception):
    """An error answered in the specification's format (and `fmt`)."""

    def __init__(self, code: int, description: str, fmt: str = "json") -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.fmt = fmt if fmt in FORMATS else "json"


def install(app: FastAPI) -> None:
    async def handler(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Open311Error)
        return _render(
            exc.fmt,
            "errors",
            "error",
            [{"code": exc.code, "description": exc.description}],
            exc.code,
        )

    app.add_exception_handler(Open311Error, handler)


# --- rendering -----------------------------------------------------------------------------


def _render(
    fmt: str, root: str, item: str, data: Sequence[Mapping[str, Any]], code: int = 200
) -> Response:
    if fmt == "json":
        return Response(orjson.dumps(list(data)), code, media_type="application/json")
    top = ET.Element(root)
    for entry in data:
        _element(top, item, entry)
    return _xml(top, code)


def _xml(top: ET.Element, code: int = 200) -> Response:
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="unicode")
    return Response(body.encode("utf-8"), code, media_type="text/xml; charset=utf-8")


def _element(parent: ET.Element, name: str, value: Any) -> None:
    node = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _element(node, k, v)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"unknown format {fmt[:20]!r}: use .json or .xml")
    return fmt


def _when(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


# --- jurisdictions, keys, services ---------------------------------------------------------


def _jurisdiction(conn: Conn, value: str | None, fmt: str) -> str:
    if not value:
        raise Open311Error(
            400, "jurisdiction_id is required: the compound id this server serves", fmt
        )
    if value not in registry.compound_ids(conn):
        raise Open311Error(404, f"jurisdiction_id {value[:64]!r} is not a compound here", fmt)
    return value


def _services(state: AppState) -> list[_open311.Service]:
    return [_open311.SERVICES[c] for c in state.config.open311_services]


def _service(state: AppState, code: str | None, fmt: str) -> _open311.Service:
    if not code:
        raise Open311Error(400, "service_code is required", fmt)
    for s in _services(state):
        if s.code == code:
            return s
    raise Open311Error(400, f"service_code {code[:64]!r} is not a service of this server", fmt)


def _notice(state: AppState, code: str) -> str:
    d = state.policy.deadlines(code, domain.Severity.MINOR)
    return (
        f"The party responsible acknowledges within {_span(d.acknowledge)}"
        f" and resolves within {_span(d.resolve)}."
    )


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def _service_public(s: _open311.Service) -> dict[str, Any]:
    return {
        "service_code": s.code,
        "service_name": s.name,
        "description": s.description,
        "metadata": False,  # no extra attributes: a definition has none
        "type": "realtime",  # a POST returns the service_request_id at once
        "keywords": ", ".join(s.keywords),
        "group": s.group,
    }


@router.get("/services.{fmt}")
def services(fmt: str, request: Request, conn: DbDep, state: StateDep) -> Response:
    fmt = _fmt(fmt)
    _jurisdiction(conn, request.query_params.get("jurisdiction_id"), fmt)
    return _render(fmt, "services", "service", [_service_public(s) for s in _services(state)])


@router.get("/services/{code}.{fmt}")
def service_definition(
    code: str, fmt: str, request: Request, conn: DbDep, state: StateDep
) -> Response:
    fmt = _fmt(fmt)
    _jurisdiction(conn, request.query_params.get("jurisdiction_id"), fmt)
    s = _service(state, code, fmt)
    definition: dict[str, Any] = {"service_code": s.code, "attributes": []}
    if fmt == "json":  # one object, not a list (the specification's example)
        return Response(orjson.dumps(definition), media_type="application/json")
    top = ET.Element("service_definition")
    ET.SubElement(top, "service_code").text = s.code
    ET.SubElement(top, "attributes")
    return _xml(top)


# --- POST requests -------------------------------------------------------------------------


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request) -> Response:
    fmt = _fmt(fmt)
    try:
        form = await request.form()
    except Exception as exc:  # a body that is no form: multipart's or the parser's error
        raise Open311Error(400, f"the body is not a form: {exc}"[:200], fmt) from exc
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    for k, v in request.query_params.items():
        fields.setdefault(k, v)
    state = get_state(request)
    return await run_in_threadpool(_post, state, fmt, fields)


def _post(state: AppState, fmt: str, fields: Mapping[str, str]) -> Response:
    with connection(state) as conn:
        client = _client(conn, fields.get("api_key"), fmt)
        hour_ago = state.clock.now() - timedelta(hours=1)
        if _open311.posted_since(conn, client, hour_ago) >= _open311.POSTS_PER_HOUR:
            raise Open311Error(
                429,
                f"{client.name} submitted {_open311.POSTS_PER_HOUR} requests this hour,"
                " the most allowed; retry later",
                fmt,
            )
        compound = _jurisdiction(conn, fields.get("jurisdiction_id"), fmt)
        service = _service(state, fields.get("service_code"), fmt)
        submitted = _submitted(conn, compound, fields, fmt)
        description = (fields.get("description") or "").strip() or service.name
        if len(description) > MAX_DESCRIPTION:
            raise Open311Error(400, f"description is over {MAX_DESCRIPTION} characters", fmt)
        location = submitted.address_id or submitted.address_string
        if location is None and submitted.lat is not None:
            location = f"{submitted.lat:.6f},{submitted.long:.6f}"
        try:
            intake = state.workflow.intake_report(
                conn,
                cases.Report(
                    compound=compound,
                    category=service.code,
                    description=description,
                    reporter=f"open311:{client.name}",
                    source=cases.Source.RESIDENT,
                    location=location,
                ),
            )
        except (cases.InvalidRequest, cases.CaseValueRefused, registry.RegistryError) as exc:
            raise Open311Error(400, f"the request cannot be taken: {exc}", fmt) from exc
        case = intake.case
        _open311.record_request(
            conn, case.id, client, compound, service.code, submitted, case.opened_at
        )
    answer = {
        "service_request_id": str(case.id),
        "service_notice": _notice(state, service.code),
        "account_id": None,
    }
    return _render(fmt, "service_requests", "request", [answer], status.HTTP_201_CREATED)


def _client(conn: Conn, key: str | None, fmt: str) -> _open311.Client:
    if not key:
        raise Open311Error(403, "api_key is required to submit a request", fmt)
    client = _open311.client_of(conn, key)
    if client is None:
        raise Open311Error(403, "api_key is not valid (unknown or revoked)", fmt)
    return client


def _text(fields: Mapping[str, str], name: str, fmt: str, most: int = MAX_TEXT) -> str | None:
    value = (fields.get(name) or "").strip()
    if len(value) > most:
        raise Open311Error(400, f"{name} is over {most} characters", fmt)
    if "\x00" in value:
        raise Open311Error(400, f"{name} contains a NUL character", fmt)
    return value or None


def _submitted(
    conn: Conn, compound: str, fields: Mapping[str, str], fmt: str
) -> _open311.Submitted:
    lat, long = _coordinate(fields, "lat", 90, fmt), _coordinate(fields, "long", 180, fmt)
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long go together: give both or neither", fmt)
    address_id = _text(fields, "address_id", fmt)
    if address_id is not None and not _known_address(conn, compound, address_id):
        raise Open311Error(
            400,
            f"address_id {address_id[:64]!r} is not a flat of {compound} (building-unit-flat)",
            fmt,
        )
    address = _text(fields, "address_string", fmt)
    if lat is None and address is None and address_id is None:
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id", fmt
        )
    media = _text(fields, "media_url", fmt, MAX_URL)
    if media is not None and (
        urlsplit(media).scheme not in ("http", "https") or not urlsplit(media).netloc
    ):
        raise Open311Error(400, "media_url must be an http or https URL", fmt)
    return _open311.Submitted(lat, long, address, address_id, media)


def _coordinate(fields: Mapping[str, str], name: str, bound: int, fmt: str) -> float | None:
    text = (fields.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number: {text[:32]!r}", fmt) from None
    if not math.isfinite(value) or abs(value) > bound:
        raise Open311Error(400, f"{name} must lie between -{bound} and {bound}", fmt)
    return value


def _known_address(conn: Conn, compound: str, address: str) -> bool:
    parts = address.split("-")
    if len(parts) != 3:
        return False
    flats, _ = registry.flat_page(
        conn, registry.EVERYTHING, compound=compound, building=parts[0], limit=10_000, offset=0
    )
    return any(f["address"] == address for f in flats)


# --- GET requests --------------------------------------------------------------------------


@router.get("/requests.{fmt}")
def get_requests(fmt: str, request: Request, conn: DbDep, state: StateDep) -> Response:
    fmt = _fmt(fmt)
    q = request.query_params
    compound = _jurisdiction(conn, q.get("jurisdiction_id"), fmt)
    ids = _ids(q.get("service_request_id"), fmt)
    codes = statuses = None
    start = end = None
    if ids is None:  # "service_request_id ... overrides all other arguments"
        codes = _codes(state, q.get("service_code"), fmt)
        start, end = _window(q.get("start_date"), q.get("end_date"), state.clock.now(), fmt)
        statuses = _statuses(q.get("status"), fmt)
    found = _open311.requested(
        conn, compound, ids=ids, codes=codes, start=start, end=end, limit=MAX_REQUESTS
    )
    full = _reads_flats(conn, q.get("api_key"))
    data = [_request_public(conn, state, r, full=full) for r in found]
    if statuses is not None:
        data = [d for d in data if d["status"] in statuses]
    return _render(fmt, "service_requests", "request", data)


@router.get("/requests/{request_id}.{fmt}")
def get_request(
    request_id: str, fmt: str, request: Request, conn: DbDep, state: StateDep
) -> Response:
    fmt = _fmt(fmt)
    compound = _jurisdiction(conn, request.query_params.get("jurisdiction_id"), fmt)
    ids = _ids(request_id, fmt)
    found = _open311.requested(conn, compound, ids=ids, codes=None, start=None, end=None, limit=1)
    if not found or ids is None or len(ids) != 1:
        raise Open311Error(404, f"no service request {request_id[:32]!r} in {compound}", fmt)
    full = _reads_flats(conn, request.query_params.get("api_key"))
    return _render(
        fmt, "service_requests", "request", [_request_public(conn, state, found[0], full=full)]
    )


def _ids(text: str | None, fmt: str) -> list[int] | None:
    if text is None or not text.strip():
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} service_request_id at once", fmt)
    if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        raise Open311Error(400, "service_request_id is a number, or several comma-delimited", fmt)
    return [int(p) for p in parts]


def _codes(state: AppState, text: str | None, fmt: str) -> list[str] | None:
    if text is None or not text.strip():
        return None
    return [_service(state, c.strip(), fmt).code for c in text.split(",") if c.strip()]


def _statuses(text: str | None, fmt: str) -> set[str] | None:
    if text is None or not text.strip():
        return None
    chosen = {s.strip().lower() for s in text.split(",") if s.strip()}
    if not chosen <= {"open", "closed"}:
        raise Open311Error(400, "status is open or closed (or both, comma-delimited)", fmt)
    return chosen


def _date(text: str | None, name: str, fmt: str) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Open311Error(
            400, f"{name} is not a w3 datetime such as 2010-01-01T00:00:00Z", fmt
        ) from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone: Z or an offset such as +08:00", fmt)
    return value


def _window(
    start_text: str | None, end_text: str | None, now: datetime, fmt: str
) -> tuple[datetime, datetime]:
    start, end = _date(start_text, "start_date", fmt), _date(end_text, "end_date", fmt)
    if start is None and end is None:
        return now - DEFAULT_SPAN, now
    if start is None:
        assert end is not None
        return end - DEFAULT_SPAN, end
    if end is None:
        return start, start + DEFAULT_SPAN
    if end < start:
        raise Open311Error(400, "end_date is before start_date", fmt)
    if end - start > MAX_SPAN:
        raise Open311Error(400, f"start_date to end_date spans over {MAX_SPAN.days} days", fmt)
    return start, end


def _reads_flats(conn: Conn, key: str | None) -> bool:
    """Whether the caller is a client application (a valid `api_key`): only then does a
    request show the flat it was made for (`address_id`). Anyone may follow requests,
    as the specification intends, but which flat reported what is not public."""
    return bool(key) and _open311.client_of(conn, key or "") is not None


def _request_public(
    conn: Conn, state: AppState, r: Mapping[str, Any], *, full: bool
) -> dict[str, Any]:
    case = cases.get_case(conn, int(r["case_id"]))
    zone = ZoneInfo(registry.time_zone(conn, case.compound))
    history = cases.case_events(conn, case_id=case.id, limit=10_000)
    updated = history[-1].at if history else case.opened_at
    is_open = case.state in cases.OPEN_STATES
    agencies = dict.fromkeys(
        _open311.AGENCIES.get(a.party_kind, a.party_kind) for a in case.assignments
    )
    service = _open311.SERVICES.get(str(r["service_code"]))
    return {
        "service_request_id": str(case.id),
        "status": "open" if is_open else "closed",
        "status_notes": _open311.STATUS_NOTES[case.state],
        "service_name": service.name if service else case.category,
        "service_code": case.category,
        "description": case.description,
        "agency_responsible": ", ".join(agencies) or None,
        "service_notice": _notice(state, case.category),
        "requested_datetime": _when(case.opened_at, zone),
        "updated_datetime": _when(updated, zone),
        "expected_datetime": _when(case.resolve_due, zone) if is_open else None,
        "address": r["address_string"] or (case.location if full else None),
        "address_id": r["address_id"] if full else None,
        "zipcode": None,
        "lat": r["lat"],
        "long": r["long"],
        "media_url": r["media_url"],
    }


# --- client applications (the administrator's side, under /api/v1) -----------------------


class Open311ClientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .@-]+$")


class Open311ClientPublic(BaseModel):
    id: int
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class Open311ClientCreated(Open311ClientPublic):
    api_key: str = Field(description="shown this once; only its hash is kept")


class Open311ClientsPublic(BaseModel):
    data: list[Open311ClientPublic]
    count: int


_CLIENT_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such client"},
    409: {"description": "a client of that name exists"},
}


@admin.get("")
def list_clients(user: Admin, conn: DbDep) -> Open311ClientsPublic:
    """The client applications allowed to submit Open311 requests (keys never shown)."""
    platform_only(user, "Open311 clients submit to every compound")
    data = [
        Open311ClientPublic.model_validate(c, from_attributes=True) for c in _open311.clients(conn)
    ]
    return Open311ClientsPublic(data=data, count=len(data))


@admin.post("", status_code=status.HTTP_201_CREATED, responses=_CLIENT_REFUSALS)
def create_client(
    body: Open311ClientCreate, user: Admin, conn: DbDep, state: StateDep
) -> Open311ClientCreated:
    """A new client application and its `api_key`, returned this once."""
    platform_only(user, "Open311 clients submit to every compound")
    made = _open311.create_client(conn, body.name, actor=user.username, now=state.clock.now())
    if made is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"a client named {body.name!r} exists")
    client, key = made
    public = Open311ClientPublic.model_validate(client, from_attributes=True)
    return Open311ClientCreated(**public.model_dump(), api_key=key)


@admin.delete("/{client_id}", responses=_CLIENT_REFUSALS)
def revoke_client(
    client_id: Annotated[int, Path(ge=1, le=2**62)], user: Admin, conn: DbDep, state: StateDep
) -> Open311ClientPublic:
    """Revoke a client's key: its next POST is refused with 403 (its requests stay)."""
    platform_only(user, "Open311 clients submit to every compound")
    client = _open311.revoke_client(conn, client_id, now=state.clock.now())
    if client is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no Open311 client {client_id}")
    return Open311ClientPublic.model_validate(client, from_attributes=True)
