"""Cases: list, detail with history, report intake, and every workflow action as a POST
carrying the case version the caller saw (409 when someone acted first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

import cases
import domain
import notify
from api import _cases
from api._access import Permission, User
from api._db import Conn
from api._state import AppState
from api.deps import DbDep, Reader, StateDep, require
from api.models import (
    AssignmentPublic,
    CancelAction,
    CaseActionBase,
    CaseCreate,
    CaseDetail,
    CaseEventPublic,
    CasePublic,
    CasesPublic,
    NoteAction,
    NotificationPublic,
    NotificationsPublic,
    OptionalNoteAction,
    RateAction,
    ReasonAction,
    RecordAction,
)
from api.routes._params import From, IdQuery, Limit, Offset, To

router = APIRouter(prefix="/cases", tags=["cases"])
Worker = Annotated[User, Depends(require(Permission.WORK_CASES))]
CaseId = Annotated[int, Path(ge=1, le=2**62)]

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
}


def _public(case: cases.Case) -> dict[str, Any]:
    fields = asdict(case)
    fields.pop("assignments")
    return fields


def _visible(conn: Conn, user: User, case_id: int) -> cases.Case:
    case = cases.get_case(conn, case_id)
    if not _cases.sees_case(user, case):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"case {case_id} does not exist (or not yours)"
        )
    return case


@router.get("")
def list_cases(
    user: Reader,
    conn: DbDep,
    state: Literal[
        "new",
        "dispatched",
        "acknowledged",
        "in_progress",
        "resolved",
        "closed",
        "reopened",
        "cancelled",
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
    limit: Limit = 50,
    offset: Offset = 0,
) -> CasesPublic:
    filters = {
        "state": state,
        "open": open_,
        "compound": compound,
        "category": category,
        "severity": severity,
        "source": source,
        "grid": grid,
        "start": start,
        "end": end,
    }
    data, count = _cases.list_cases(conn, user, filters=filters, limit=limit, offset=offset)
    return CasesPublic(data=[CasePublic.model_validate(c) for c in data], count=count)


@router.post("", status_code=status.HTTP_201_CREATED)
def report(body: CaseCreate, user: Worker, conn: DbDep, state: StateDep) -> CasePublic:
    """Open a case for a resident's report or a patrol finding; it is dispatched at once."""
    workflow = state.workflow
    intake = workflow.intake_report(
        conn,
        cases.Report(
            compound=body.compound,
            category=body.category,
            description=body.description,
            reporter=body.reporter,
            source=cases.Source(body.source),
            location=body.location,
            severity=domain.Severity(body.severity),
        ),
    )
    return CasePublic.model_validate(_public(intake.case))


@router.get("/{case_id}")
def get_case(case_id: CaseId, user: Reader, conn: DbDep) -> CaseDetail:
    case = _visible(conn, user, case_id)
    history = cases.case_events(conn, case_id=case_id, limit=10_000)
    return CaseDetail.model_validate(
        {
            **_public(case),
            "assignments": [AssignmentPublic.model_validate(asdict(a)) for a in case.assignments],
            "history": [
                CaseEventPublic.model_validate(
                    {
                        "id": e.id,
                        "version": e.version,
                        "at": e.at,
                        "actor": e.actor,
                        "transition": e.transition.value,
                        "from_state": e.from_state.value if e.from_state else None,
                        "to_state": e.to_state.value,
                        "detail": dict(e.detail),
                    }
                )
                for e in history
            ],
            "allowed_actions": [ROUTES[t] for t in cases.allowed_in(case.state) if t in ROUTES],
        }
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
    return CasePublic.model_validate(_public(act(state.workflow, conn, user.username)))


@router.post("/{case_id}/acknowledge")
def acknowledge(
    case_id: CaseId, body: CaseActionBase, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.acknowledge(c, case_id, actor=a, version=body.version),
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
    """The reporter's rating (1-5) as taken by staff (by phone, at the desk)."""
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.rate(
            c, case_id, actor=a, version=body.version, rating=body.rating, comment=body.comment
        ),
    )


@router.post("/{case_id}/close")
def close(
    case_id: CaseId, body: OptionalNoteAction, user: Worker, conn: DbDep, state: StateDep
) -> CasePublic:
    return _act(
        conn,
        user,
        state,
        case_id,
        lambda w, c, a: w.close(c, case_id, actor=a, version=body.version, note=body.note),
    )


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
