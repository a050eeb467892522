"""Exports of cases and KPIs (CSV streamed, XLSX), and the monthly evaluation report
(PDF): scoped exactly like the list routes, refused with 403 and the reason outside the
caller's scope, every one a row of the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse

import cases
import domain
import reports
from api import _cases, _exports, _health
from api._state import AppState
from api.deps import StateDep, StreamCaller, connection, get_stream_caller
from api.models import Message
from api.routes._params import IdQuery, Instant

router = APIRouter(tags=["exports"])
# The caller is looked up with a connection given back before the body starts: a long
# download holds only the one connection its rows are read with.
Caller = Annotated[StreamCaller, Depends(get_stream_caller)]
MAX_RANGE = timedelta(days=3700)  # as the KPIs route: ten years of cases
CHUNK_BYTES = 64 * 1024  # the XLSX file is sent in pieces of this size
Format = Literal["csv", "xlsx"]
_TZ = Annotated[str | None, Query(pattern=r"^[A-Za-z_]{1,32}(/[A-Za-z_+-]{1,32}){0,2}$")]
_LANG = Annotated[Literal["zh", "en"] | None, Query(description="else Accept-Language, else zh")]
_MONTH = Annotated[str | None, Query(max_length=16, description="YYYY-MM instead of from/to")]
_PARTY = Annotated[
    str | None,
    Query(pattern=r"^[A-Za-z0-9_:-]{1,80}$", description="a party id or grid_team:<grid>"),
]

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"model": Message, "description": "a compound or grid outside the caller's grids"},
    422: {"model": Message, "description": "an absurd period, or a filter without its compound"},
}
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _period(
    state: AppState, month: str | None, start: datetime | None, end: datetime | None, tz: str
) -> tuple[datetime, datetime]:
    """[from, to) of a `month` in `tz`, or of the instants given (default: 30 days to now)."""
    if month is not None:
        if start is not None or end is not None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "give either `month` or `from`/`to`"
            )
        return reports.Month.parse(month).bounds(tz)
    end = end or state.clock.now()
    start = start or end - timedelta(days=30)
    if not timedelta() < end - start <= MAX_RANGE:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"`to` must be after `from`, and at most {MAX_RANGE.days} days after it",
        )
    return start, end


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while piece := file.read(CHUNK_BYTES):
            yield piece


class _CaseQuery:
    def __init__(
        self,
        compound: IdQuery = None,
        grid: IdQuery = None,
        party: _PARTY = None,
        state: Literal[
            "new",
            "dispatched",
            "acknowledged",
            "in_progress",
            "resolved",
            "closed",
            "reopened",
            "cancelled",
            "merged",
        ]
        | None = None,
        category: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$")] = None,
        severity: Literal["critical", "major", "minor", "warning"] | None = None,
        month: _MONTH = None,
        start: Annotated[Instant | None, Query(alias="from")] = None,
        end: Annotated[Instant | None, Query(alias="to")] = None,
        timezone: _TZ = None,
        lang: _LANG = None,
    ) -> None:
        self.compound, self.grid, self.party = compound, grid, party
        self.state, self.category, self.severity = state, category, severity
        self.month, self.start, self.end = month, start, end
        self.timezone, self.lang = timezone, lang


def _file(media: str) -> dict[int | str, dict[str, Any]]:
    return {**REFUSALS, 200: {"content": {media: {}}, "description": "the file"}}


@router.get("/exports/cases.csv", responses=_file(_MEDIA["csv"]), response_class=Response)
def export_cases_csv(
    caller: Caller,
    state: StateDep,
    request: Request,
    filters: Annotated[_CaseQuery, Depends()],
) -> Response:
    """The cases the caller's list shows, opened in [from, to) (default: the last 30
    days) or in `month` (in the compound's time zone), oldest first, as CSV: UTF-8 with a
    byte-order mark, the list's field names as header, instants ISO 8601 with the offset
    of `timezone` (the compound's by default), streamed. 403 for a compound or grid
    outside the caller's grids; 422 for an absurd period, an unknown time zone or a
    grid/party without its compound."""
    return _export_cases("csv", caller, state, request, filters)


@router.get("/exports/cases.xlsx", responses=_file(_MEDIA["xlsx"]), response_class=Response)
def export_cases_xlsx(
    caller: Caller,
    state: StateDep,
    request: Request,
    filters: Annotated[_CaseQuery, Depends()],
) -> Response:
    """The cases of `cases.csv` as one XLSX sheet: labels in the reader's language
    (`lang`, else Accept-Language), typed cells, a frozen header row, instants as dates
    in `timezone` (the compound's by default). Refusals as for `cases.csv`."""
    return _export_cases("xlsx", caller, state, request, filters)


def _export_cases(
    fmt: Format, caller: StreamCaller, state: AppState, request: Request, q: _CaseQuery
) -> Response:
    compound, grid, party = q.compound, q.grid, q.party
    user = caller.user
    _exports.check_scope(user, compound=compound, grid=grid, party=party)
    with connection(state) as conn:
        tz = _exports.timezone(conn, compound, q.timezone)
        since, until = _period(state, q.month, q.start, q.end, tz)
        filters = cases.CaseFilter(
            compound=compound,
            grid=grid,
            party=party,
            state=None if q.state is None else cases.State(q.state),
            category=q.category,
            severity=None if q.severity is None else domain.Severity(q.severity),
            start=since,
            end=until,
        )
        detail = {
            "compound": compound,
            "grid": grid,
            "party": party,
            "state": q.state,
            "category": q.category,
            "severity": q.severity,
            "from": since.isoformat(),
            "to": until.isoformat(),
        }
        _exports.audit(
            conn,
            user,
            request,
            action="export",
            subject=f"cases.{fmt}",
            route=f"GET /api/v1/exports/cases.{fmt}",
            now=state.clock.now(),
            detail=detail,
        )
        if fmt == "xlsx":
            file = reports.xlsx_file(
                reports.CASE_COLUMNS,
                _exports.case_batches(conn, user, filters),
                sheet="cases",
                language=_exports.language(request, q.lang),
                timezone=tz,
            )
            return StreamingResponse(
                _chunks(file), media_type=_MEDIA["xlsx"], headers=_attachment("cases.xlsx")
            )

    def rows() -> Iterator[str]:
        with connection(state) as conn:
            yield from reports.csv_lines(
                reports.CASE_COLUMNS, _exports.case_batches(conn, user, filters), timezone=tz
            )

    return StreamingResponse(rows(), media_type=_MEDIA["csv"], headers=_attachment("cases.csv"))


class _KpiQuery:
    def __init__(
        self,
        by: cases.KpiDimension = cases.KpiDimension.CATEGORY,
        period: Literal["day", "week", "month", "quarter", "year"] | None = None,
        compound: IdQuery = None,
        grid: IdQuery = None,
        party: _PARTY = None,
        month: _MONTH = None,
        start: Annotated[Instant | None, Query(alias="from")] = None,
        end: Annotated[Instant | None, Query(alias="to")] = None,
        timezone: _TZ = None,
        lang: _LANG = None,
    ) -> None:
        self.by, self.period = by, period
        self.compound, self.grid, self.party = compound, grid, party
        self.month, self.start, self.end = month, start, end
        self.timezone, self.lang = timezone, lang


@router.get("/exports/kpis.csv", responses=_file(_MEDIA["csv"]), response_class=Response)
def export_kpis_csv(
    caller: Caller, state: StateDep, request: Request, q: Annotated[_KpiQuery, Depends()]
) -> Response:
    """`GET /kpis` as CSV (the same figures: `cases.kpis`, with the medians), `by`
    party, grid, category, compound or staff (per person: the cases they handled by
    name), bucketed by `period`, narrowed to one `grid` or `party` of `compound`, over
    [from, to) or a `month`. 403 for a compound or grid outside the caller's grids; 422
    for an absurd period, an unknown time zone or a grid/party without its compound."""
    return _export_kpis("csv", caller, state, request, q)


@router.get("/exports/kpis.xlsx", responses=_file(_MEDIA["xlsx"]), response_class=Response)
def export_kpis_xlsx(
    caller: Caller, state: StateDep, request: Request, q: Annotated[_KpiQuery, Depends()]
) -> Response:
    """The KPIs of `kpis.csv` as one XLSX sheet (rates as percentages, durations in
    seconds, periods as dates in `timezone`). Refusals as for `kpis.csv`."""
    return _export_kpis("xlsx", caller, state, request, q)


def _export_kpis(
    fmt: Format, caller: StreamCaller, state: AppState, request: Request, q: _KpiQuery
) -> Response:
    compound, grid, party, by, period = q.compound, q.grid, q.party, q.by, q.period
    user = caller.user
    _exports.check_scope(user, compound=compound, grid=grid, party=party)
    within = None
    if grid is not None:
        within = (cases.KpiDimension.GRID, f"{compound}/{grid}")
    elif party is not None:
        within = (cases.KpiDimension.PARTY, f"{compound}/{party}")
    with connection(state) as conn:
        tz = _exports.timezone(conn, compound, q.timezone)
        since, until = _period(state, q.month, q.start, q.end, tz)
        found = cases.kpis(
            conn,
            since=since,
            until=until,
            by=by,
            period=period,
            timezone=tz,
            compound=compound,
            scope=user.scope,
            withheld=_cases.withheld_categories(conn, user),
            withheld_as=_health.NEUTRAL_RULE,
            within=within,
        )
        detail = {
            "by": by.value,
            "period": period,
            "compound": compound,
            "grid": grid,
            "party": party,
            "from": since.isoformat(),
            "to": until.isoformat(),
        }
        _exports.audit(
            conn,
            user,
            request,
            action="export",
            subject=f"kpis.{fmt}",
            route=f"GET /api/v1/exports/kpis.{fmt}",
            now=state.clock.now(),
            detail=detail,
        )
    rows = [[asdict(k) for k in found]]
    if fmt == "csv":
        body = "".join(reports.csv_lines(reports.KPI_COLUMNS, rows, timezone=tz))
        return Response(body, media_type=_MEDIA["csv"], headers=_attachment("kpis.csv"))
    file = reports.xlsx_file(
        reports.KPI_COLUMNS,
        rows,
        sheet="kpis",
        language=_exports.language(request, q.lang),
        timezone=tz,
    )
    return StreamingResponse(
        _chunks(file), media_type=_MEDIA["xlsx"], headers=_attachment("kpis.xlsx")
    )


@router.get(
    "/reports/evaluation.pdf",
    responses=_file("application/pdf"),
    response_class=Response,
)
def evaluation_report(
    caller: Caller,
    state: StateDep,
    request: Request,
    compound: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    month: Annotated[str, Query(max_length=16, description="YYYY-MM")],
    by: Literal["grid", "party"] = "grid",
    lang: _LANG = None,
) -> Response:
    """The month's evaluation (考核) of `compound` per grid or per party, as PDF: the
    compound's figures, each grid's or party's (cases by category with a chart, the
    on-time and closure rates, median response and resolution, satisfaction, per-person
    KPIs of the staff, the overdue and escalated cases listed, the grids' care programmes:
    visits, meals delivered, missed and not recorded in the month), in the caller's scope
    (a grid worker: their grids). 403 outside it; 422 for a month that is no month or
    outside 2000-2199."""
    user = caller.user
    _exports.check_scope(user, compound=compound, grid=None, party=None)
    parsed = reports.Month.parse(month)
    language = _exports.language(request, lang)
    now = state.clock.now()
    with connection(state) as conn:
        evaluation = reports.evaluate(
            conn,
            compound=compound,
            month=parsed,
            by=cases.KpiDimension(by),
            now=now,
            scope=user.scope,
            withheld=_cases.withheld_categories(conn, user),
            withheld_as=_health.NEUTRAL_RULE,
            renamed=_exports.renamed(user),
            redact=_exports.redactor(conn, user),
            care=_exports.care_of_month(conn, user.scope, compound=compound, month=parsed, now=now),
        )
        _exports.audit(
            conn,
            user,
            request,
            action="export",
            subject="evaluation.pdf",
            route="GET /api/v1/reports/evaluation.pdf",
            now=now,
            detail={"compound": compound, "month": str(parsed), "by": by},
        )
    name = f"evaluation-{compound}-{parsed}-{by}.pdf"
    return Response(
        reports.render(evaluation, language),
        media_type="application/pdf",
        headers=_attachment(name),
    )
