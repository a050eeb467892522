"""Cases: list, detail with history, report intake, and every workflow action as a POST
carrying the case version the caller saw (409 when someone acted first)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, status

import care
import cases
import domain
import notify
import registry
import residents
from api import _cases, _cursor, _health
from api._access import Permission, User
from api._db import Conn
from api._errors import Refusal
from api._state import AppState
from api.deps import DbDep, Reader, StateDep, in_scope, require
from api.models import (
    AddPartyAction,
    AssignAction,
    AssignmentPublic,
    CancelAction,
    CaseActionBase,
    CaseCreate,
    CaseDetail,
    CaseEventPublic,
    CaseNoticePublic,
    CasePublic,
    CasesPublic,
    CategoriesPublic,
    CategoryPublic,
    CloseAction,
    MergeAction,
    Message,
    NoteAction,
    NotificationPublic,
    NotificationsPublic,
    RateAction,
    ReasonAction,
    RecordAction,
    RedispatchAction,
    TakeOverAction,
    TransferAction,
)
from api.routes._params import Cursor, From, IdQuery, Limit, Offset, To

log = logging.getLogger(__name__)
router = APIRouter(prefix="/cases", tags=["cases"])
Worker = Annotated[User, Depends(require(Permission.WORK_CASES))]
Supervisor = Annotated[User, Depends(require(Permission.TAKE_OVER_CASES))]
CaseId = Annotated[int, Path(ge=1, le=2**62)]
# The reporter of a phone call whose caller gave no resident ref.
UNNAMED_CALLER = "caller"

# Action routes, by the transition each records (what `allowed_actions` offers).
ROUTES = {
    cases.Transition.ACKNOWLEDGED: "acknowledge",
    cases.Transition.STARTED: "start",
    cases.Transition.ACTION_RECORDED: "record-action",
    cases.Transition.RESOLVED: "resolve",
    cases.Transition.RATED: "rate",
    cases.Transition.CLOSED: "close",
    cases.Transition.REOPENED: "reopen",
    cases.Transition.CANCELLED: "cancel",
    cases.Transition.NOTE_ADDED: "note",
    cases.Transition.REDISPATCHED: "redispatch",
    cases.Transition.TRANSFERRED: "transfer",
    cases.Transition.ASSIGNED: "assign",
    cases.Transition.CLAIMED: "claim",
    cases.Transition.PARTY_ADDED: "add-party",
    cases.Transition.MERGED: "merge",
}

# What the handling routes refuse, each with a `detail` saying why.
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"model": Message, "description": "no such case, or not in the caller's scope"},
    409: {"model": Message, "description": "a stale version, or not allowed in its state"},
    422: {"model": Message, "description": "a party, staff member or case that cannot take it"},
}


def _visible(conn: Conn, user: User, case_id: int) -> cases.Case:
    case = cases.get_case(conn, case_id)
    if not _cases.sees_case(user, case):
        raise Refusal(
            status.HTTP_404_NOT_FOUND,
            f"case {case_id} does not exist (or not yours)",
            "case.not_found",
            case_id=case_id,
        )
    return case


@router.get("")
def list_cases(
    user: Reader,
    conn: DbDep,
    app: StateDep,
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
    open_: Annotated[bool | None, Query(alias="open")] = None,
    compound: IdQuery = None,
    category: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$")] = None,
    severity: Literal["critical", "major", "minor", "warning"] | None = None,
    source: Literal["alarm", "resident", "patrol"] | None = None,
    grid: IdQuery = None,
    start: From = None,
    end: To = None,
    escalated: bool | None = None,
    rung: Literal["assignee", "grid_lead", "community", "subdistrict"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> CasesPublic:
    """The cases in the caller's scope, newest first (by id); `escalated`: those with (or
    without) an escalation, `rung`: those that climbed to that rung of the ladder (a
    subdistrict office's desk: `rung=subdistrict`). `offset` for a small page, `cursor`
    (the previous page's `next_cursor`) to walk the list: no case is skipped or repeated
    while cases are opened meanwhile, and a deep page costs what the first does."""
    before = _cursor.decode_id(app.key, "cases", cursor)
    filters = cases.CaseFilter(
        compound=compound,
        state=None if state is None else cases.State(state),
        category=category,
        severity=None if severity is None else domain.Severity(severity),
        source=None if source is None else cases.Source(source),
        grid=grid,
        open=open_,
        start=start,
        end=end,
        escalated=escalated,
        rung=None if rung is None else cases.Rung(rung),
    )
    found, count = _cases.list_cases(
        conn,
        user,
        filters=filters,
        limit=limit + 1,
        offset=offset,
        before=before,
    )
    data, next_cursor = _cursor.page(app.key, "cases", found, limit, lambda c: (c["id"],))
    return CasesPublic(
        data=[CasePublic.model_validate(c) for c in data], count=count, next_cursor=next_cursor
    )


@router.get("/categories")
def categories(user: Reader) -> CategoriesPublic:
    """The categories a report is opened in (the policy's), with their titles."""
    data = [
        CategoryPublic(id=c, title=dict(cases.REPORT_CATEGORY_TITLES[c]))
        for c in cases.REPORT_CATEGORIES
    ]
    return CategoriesPublic(data=data, count=len(data))


@router.post("", status_code=status.HTTP_201_CREATED)
def report(body: CaseCreate, user: Worker, conn: DbDep, state: StateDep) -> CasePublic:
    """Open a case for a resident's report (at the desk or by phone: `channel`, in its
    history) or a patrol finding; it is dispatched at once. A phone call's `callback`
    number is kept apart from the case (`GET /residents/reports/{id}`, audited). A grid
    worker opens cases only at a location in their grids. Refused with 422 and the
    reason: a compound, category or location the registry and policy do not know, a
    call-back number that is not one."""
    _within_scope(conn, user, body.compound, body.location)
    callback = None if body.callback is None else _phone(body.callback)

    def keep_callback(tx: Conn, case_id: int) -> None:
        # In the case's own transaction: a case never opens without its call-back number.
        assert callback is not None
        residents.record_phone_intake(
            tx, case_id, callback, taken_by=user.username, now=state.clock.now()
        )

    intake = state.workflow.intake_report(
        conn,
        cases.Report(
            compound=body.compound,
            category=body.category,
            description=body.description,
            reporter=body.reporter or UNNAMED_CALLER,
            source=cases.Source(body.source),
            location=body.location,
            severity=domain.Severity(body.severity),
            channel=cases.Channel(body.channel),
        ),
        alongside=None if callback is None else keep_callback,
    )
    return CasePublic.model_validate(_cases.public(intake.case))


def _phone(text: str) -> residents.Phone:
    try:
        return residents.Phone.parse(text)
    except residents.ReportRefused as exc:
        raise residents.ReportRefused("callback", exc.reason) from exc


def _within_scope(conn: Conn, user: User, compound: str, location: str | None) -> None:
    in_scope(user, compound, package="case")
    if not user.grid_bound:
        return
    grid = registry.grid_of(conn, compound, location)
    if not user.sees_grid(compound, grid):
        where = (
            f"{location} of {compound!r}"
            if location
            else f"a case in {compound!r} without a location"
        )
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            f"{where} is outside your grids",
            "case.outside_grids",
            where=location or compound,
        )


@router.get("/{case_id}")
def get_case(
    case_id: CaseId, user: Reader, conn: DbDep, state: StateDep, request: Request
) -> CaseDetail:
    """A case with its history and its notifications (`notices`: each delivery's state,
    each repeat round, each answer from a link). An elderly-care alarm's readings in it
    reach care responders and administrators only (audited)."""
    case = _visible(conn, user, case_id)
    history = cases.case_events(conn, case_id=case_id, limit=10_000)
    public = _cases.public(case)
    _cases.redact_cases(conn, user, [public])
    elderly = bool(cases.elderly_alarm_cases(conn, [case_id]))
    withheld = elderly and not user.reads_health
    if elderly and user.reads_health and any("values" in e.detail for e in history):
        _health.record_read(
            conn,
            user,
            request,
            route="GET /api/v1/cases/{case_id}",
            subject=f"case {case_id}",
            devices=[case.device_id or f"{case.compound}/{case.flat}"],
            now=state.clock.now(),
        )
    events = [
        _cases.redact_event(e.actor, dict(e.detail)) if withheld else (e.actor, dict(e.detail))
        for e in history
    ]
    return CaseDetail.model_validate(
        {
            **public,
            "assignments": [AssignmentPublic.model_validate(asdict(a)) for a in case.assignments],
            "history": [
                CaseEventPublic.model_validate(
                    {
                        "id": e.id,
                        "version": e.version,
                        "at": e.at,
                        "actor": actor,
                        "transition": e.transition.value,
                        "from_state": e.from_state.value if e.from_state else None,
                        "to_state": e.to_state.value,
                        "detail": detail,
                    }
                )
                for e, (actor, detail) in zip(history, events, strict=True)
            ],
            "notices": [_notice(e) for e in notify.case_timeline(conn, case_id)],
            "allowed_actions": [ROUTES[t] for t in cases.allowed_in(case.state) if t in ROUTES],
            "merged_cases": cases.merged_cases(conn, case_id),
        }
    )


def _notice(entry: notify.TimelineEntry) -> CaseNoticePublic:
    fields = asdict(entry)
    return CaseNoticePublic.model_validate(
        {**fields, "told": list(entry.told), "added": list(entry.added)}
    )


@router.get("/{case_id}/notifications")
def get_notifications(case_id: CaseId, user: Reader, conn: DbDep) -> NotificationsPublic:
    """Who was told of the case, through which channel, and how each delivery stands."""
    _visible(conn, user, case_id)
    found = notify.notifications_for_case(conn, case_id)
    data = [NotificationPublic.model_validate({**asdict(n), "state": n.state.value}) for n in found]
    return NotificationsPublic(data=data, count=len(data))


Act = Callable[[cases.Workflow, Conn, str], cases.Case]


def _act(conn: Conn, user: User, state: AppState, case_id: int, act: Act) -> CasePublic:
    _visible(conn, user, case_id)
    return CasePublic.model_validate(_cases.public(act(state.workflow, conn, user.username)))


@router.post("/{case_id}/acknowledge")
def acknowledge(
    case_id: CaseId, body: CaseActionBase, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.acknowledge(
            c, case_id, actor=a, version=body.version, staff_id=user.staff_id
        ),
    )


@router.post("/{case_id}/start")
def start(
    case_id: CaseId, body: CaseActionBase, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.start(c, case_id, actor=a, version=body.version),
    )


@router.post("/{case_id}/record-action")
def record_action(
    case_id: CaseId, body: RecordAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """Record what was done. Refused with 422 and the reason: participants or a decision
    for any mode but a joint consultation; a joint consultation without its decision or
    with fewer than two participants."""
    action = cases.Action(
        mode=cases.ActionMode(body.mode),
        note=body.note,
        participants=tuple(body.participants),
        decision=body.decision,
    )
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.record_action(c, case_id, action, actor=a, version=body.version),
    )


@router.post("/{case_id}/resolve")
def resolve(
    case_id: CaseId, body: NoteAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.resolve(c, case_id, actor=a, version=body.version, note=body.note),
    )


@router.post("/{case_id}/rate")
def rate(
    case_id: CaseId, body: RateAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """The reporter's rating (1-5) as taken by staff. A resident's own report is rated by
    the resident (`/residents/me/cases/{id}/rating`); staff record one for them only from
    a phone call, `by_phone: true`, marked so in the history (422 otherwise)."""
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.rate(
            c,
            case_id,
            actor=a,
            version=body.version,
            rating=body.rating,
            comment=body.comment,
            by_phone=body.by_phone,
        ),
    )


@router.post("/{case_id}/close")
def close(
    case_id: CaseId, body: CloseAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """Close a resolved case; `follow_up: true` closes it in the follow-up visit mode and
    schedules the visit to its household at once (the care sweep would, within a minute)."""
    closed = _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.close(
            c, case_id, actor=a, version=body.version, note=body.note, follow_up=body.follow_up
        ),
    )
    if body.follow_up:
        try:
            care.schedule_follow_ups(conn, now=state.clock.now(), policy=care.DEFAULT_CARE_POLICY)
        except (care.CareError, cases.CasesError) as exc:  # closed: the sweep schedules it
            log.warning("follow-up of case %d left to the care sweep: %s", case_id, exc)
    return closed


@router.post("/{case_id}/reopen")
def reopen(
    case_id: CaseId, body: ReasonAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.reopen(c, case_id, actor=a, version=body.version, reason=body.reason),
    )


@router.post("/{case_id}/cancel")
def cancel(
    case_id: CaseId, body: CancelAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.cancel(
            c,
            case_id,
            actor=a,
            version=body.version,
            reason=cases.CancelReason(body.reason),
            note=body.note,
            duplicate_of=body.duplicate_of,
        ),
    )


@router.post("/{case_id}/note")
def note(
    case_id: CaseId, body: NoteAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.add_note(c, case_id, actor=a, version=body.version, note=body.note),
    )


@router.post("/{case_id}/redispatch", responses=REFUSALS)
def redispatch(
    case_id: CaseId, body: RedispatchAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """Send a mis-routed case to other parties instead (all of its parties replaced)."""
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.redispatch(
            c, case_id, actor=a, version=body.version, parties=body.parties, reason=body.reason
        ),
    )


@router.post("/{case_id}/transfer", responses=REFUSALS)
def transfer(
    case_id: CaseId, body: TransferAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """One party hands its share of the case to another party serving the compound."""
    from_kind = None if body.from_kind is None else body.from_kind.value
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.transfer(
            c,
            case_id,
            actor=a,
            version=body.version,
            party=body.party,
            reason=body.reason,
            from_kind=from_kind,
        ),
    )


@router.post("/{case_id}/add-party", responses=REFUSALS)
def add_party(
    case_id: CaseId, body: AddPartyAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """A co-handling party joins the case."""
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.add_party(
            c, case_id, actor=a, version=body.version, party=body.party, note=body.note
        ),
    )


@router.post("/{case_id}/assign", responses=REFUSALS)
def assign(
    case_id: CaseId, body: AssignAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """Name the staff member of one of the case's parties who handles it."""
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.assign(c, case_id, actor=a, version=body.version, staff_id=body.staff_id),
    )


@router.post("/{case_id}/claim", responses=REFUSALS)
def claim(
    case_id: CaseId, body: CaseActionBase, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """The caller claims the case for themself (党员先锋 认领): their account must be a
    registry staff member serving the case's compound."""
    staff_id = user.staff_id
    if staff_id is None:
        raise Refusal(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{user.username} is not linked to a registry staff member (the account's"
            " staff_id): only staff can claim a case",
            "case.claim_unlinked",
        )
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.claim(c, case_id, actor=a, version=body.version, staff_id=staff_id),
    )


TAKE_OVER_REFUSALS: dict[int | str, dict[str, Any]] = {
    **REFUSALS,
    403: {"model": Message, "description": "the case is outside the organisation's compounds"},
    422: {"model": Message, "description": "the organisation has no party in the compound"},
}


@router.post("/{case_id}/take-over", responses=TAKE_OVER_REFUSALS)
def take_over(
    case_id: CaseId, body: TakeOverAction, user: Supervisor, conn: DbDep, state: StateDep
) -> CasePublic:
    """The caller's organisation (a residents' committee, a subdistrict office: an upper
    rung of the ladder) takes the case on: its party in the compound replaces every party,
    and the caller, if a staff member of it, claims the case; the reason is on the
    timeline."""
    case = cases.get_case(conn, case_id)
    if not user.sees_compound(case.compound):
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            f"case {case_id} is not in a compound your organisation ({user.organisation})"
            " serves: it cannot take the case over",
            "case.take_over_outside",
            case_id=case_id,
            organisation=user.organisation,
        )
    party = registry.organisation_party(conn, case.compound, user.organisation)
    if party is None:
        raise Refusal(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"your organisation ({user.organisation}) has no party in compound"
            f" {case.compound} to take the case over as (the compound file's"
            " parties[].organisation)",
            "case.take_over_no_party",
            organisation=user.organisation,
            compound=case.compound,
        )
    # The caller claims it when they are that party's staff member in this compound (staff
    # ids are per compound: an office's person may be registered in some of its compounds).
    member = user.staff_id and registry.staff_member(conn, case.compound, user.staff_id)
    claimant = user.staff_id if member and member["party_id"] == party else None
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.take_over(
            c,
            case_id,
            actor=a,
            version=body.version,
            party=party,
            reason=body.reason,
            staff_id=claimant,
        ),
    )


@router.post("/{case_id}/merge", responses=REFUSALS)
def merge(
    case_id: CaseId, body: MergeAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    """End this case as a duplicate of `into` (an open case of the same compound, in the
    caller's scope too); its alarms move over to that case."""
    _visible(conn, user, case_id)
    _visible(conn, user, body.into)
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.merge(
            c, case_id, actor=a, version=body.version, into=body.into, note=body.note
        ),
    )
