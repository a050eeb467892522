"""Answering from the message: what a link's page shows, and its two buttons.

"I am going" uses the link up (a locked, checked update: of two presses one wins),
then acknowledges the case as the link's staff member through the case workflow (its
own transaction; on the timeline with actor `staff:<id>`) and marks the notification
acknowledged; a refused acknowledgement (someone else was faster) gives the link back.
"I cannot" uses the link up, makes the next round of repeats due at once (the next
person on the call list) and notes it on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import cases
import registry
from notify import _repeat
from notify._db import Conn, transaction
from notify._errors import LinkRefused
from notify._links import LinkClaim, Links

GOING, CANNOT = "going", "cannot"
ANSWERS = (GOING, CANNOT)


@dataclass(frozen=True, slots=True)
class Told:
    staff_id: str
    name: str
    answer: str | None


@dataclass(frozen=True, slots=True)
class LinkView:
    """What the page of a genuine, unused, unexpired link shows."""

    notification_id: int
    staff_id: str
    staff_name: str
    case: cases.Case
    compound_name: str
    told: tuple[Told, ...]  # everyone this case's notifications went to
    acknowledged_by: str | None  # the actor of the case's first acknowledgement
    expires: datetime

    @property
    def awaiting(self) -> bool:
        """Still waiting for someone to go: the buttons are offered."""
        return self.case.state in (cases.State.DISPATCHED, cases.State.REOPENED)


def open_link(conn: Conn, links: Links, token: str, now: datetime) -> LinkView:
    """The page's facts; `LinkRefused` when the link is malformed, forged, expired,
    unknown or already used."""
    claim = links.read(token, now)
    with transaction(conn):
        return _view(conn, claim, lock=False)


def answer_link(
    conn: Conn,
    links: Links,
    token: str,
    answer: str,
    *,
    workflow: cases.Workflow,
    now: datetime,
) -> LinkView:
    """Record the link's one answer (`going` or `cannot`); the view after it. `conn`
    must be outside a transaction (the workflow commits its own)."""
    if answer not in ANSWERS:
        raise LinkRefused("malformed", f"the answer is {GOING!r} or {CANNOT!r}")
    claim = links.read(token, now)
    with transaction(conn):
        view = _view(conn, claim, lock=True)
        if answer == GOING and not view.awaiting:
            raise LinkRefused("settled", _settled(view))
        _use(conn, claim.notification_id, answer, now)
        if answer == CANNOT:
            _repeat.decline(conn, view.case.id, view.staff_id, now)
    # The link is used up before the case moves: of two presses only one gets here.
    actor = f"staff:{view.staff_id}"
    if answer == GOING:
        _acknowledge(conn, view, actor, claim.notification_id, workflow, now)
    else:
        _note(conn, view.case.id, actor, workflow)
    with transaction(conn):
        return _view(conn, claim, lock=False, answered=True)


def _use(conn: Conn, notification_id: int, answer: str, now: datetime) -> None:
    conn.execute(
        "UPDATE notifications SET answer = %s, answered_at = %s WHERE id = %s",
        (answer, now, notification_id),
    )


def _acknowledge(
    conn: Conn,
    view: LinkView,
    actor: str,
    notification_id: int,
    workflow: cases.Workflow,
    now: datetime,
) -> None:
    try:
        workflow.acknowledge(
            conn, view.case.id, actor=actor, version=view.case.version, staff_id=view.staff_id
        )
    except (cases.IllegalTransition, cases.VersionConflict) as exc:
        # Someone acted on the case in between: the link is not used up by a refusal.
        with transaction(conn):
            conn.execute(
                "UPDATE notifications SET answer = NULL, answered_at = NULL WHERE id = %s",
                (notification_id,),
            )
        raise LinkRefused("settled", f"case {view.case.id} changed meanwhile: {exc}") from exc
    with transaction(conn):
        conn.execute(
            "UPDATE notifications SET state = 'acknowledged', acknowledged_at = %s WHERE id = %s",
            (now, notification_id),
        )


def _note(conn: Conn, case_id: int, actor: str, workflow: cases.Workflow) -> None:
    note = "cannot go (answered from the notification's link)"
    for _ in range(3):  # the case may move between reading its version and the note
        version = cases.get_case(conn, case_id).version
        try:
            workflow.add_note(conn, case_id, actor=actor, version=version, note=note)
            return
        except cases.VersionConflict:
            continue


def _settled(view: LinkView) -> str:
    if view.acknowledged_by:
        return f"case {view.case.id} was already acknowledged by {view.acknowledged_by}"
    return f"case {view.case.id} is {view.case.state.value}: nobody needs to go"


def _view(conn: Conn, claim: LinkClaim, *, lock: bool, answered: bool = False) -> LinkView:
    row = conn.execute(
        "SELECT case_id, recipient, answer, answered_at FROM notifications WHERE id = %s"
        + (" FOR UPDATE" if lock else ""),
        (claim.notification_id,),
    ).fetchone()
    if row is None:
        raise LinkRefused("unknown", "no such notification")
    case_id, staff_id, answer, answered_at = row
    if answer is not None and not answered:
        said = "I am going" if answer == GOING else "I cannot"
        raise LinkRefused("used", f"this link was used at {answered_at.isoformat()} ({said})")
    case = cases.get_case(conn, case_id)
    return LinkView(
        notification_id=claim.notification_id,
        staff_id=staff_id,
        staff_name=_name(conn, case.compound, staff_id),
        case=case,
        compound_name=next(
            (c.name for c in registry.compounds(conn) if c.id == case.compound), case.compound
        ),
        told=_told(conn, case),
        acknowledged_by=_acknowledged_by(conn, case),
        expires=claim.expires,
    )


def _name(conn: Conn, compound: str, staff_id: str) -> str:
    member = registry.staff_member(conn, compound, staff_id)
    return str(member["name"]) if member else staff_id


def _told(conn: Conn, case: cases.Case) -> tuple[Told, ...]:
    rows = conn.execute(
        "SELECT recipient, (array_agg(answer ORDER BY answered_at) FILTER"
        " (WHERE answer IS NOT NULL))[1] FROM notifications WHERE case_id = %s"
        " GROUP BY recipient ORDER BY min(id)",
        (case.id,),
    ).fetchall()
    return tuple(Told(r[0], _name(conn, case.compound, r[0]), r[1]) for r in rows)


def _acknowledged_by(conn: Conn, case: cases.Case) -> str | None:
    if case.acknowledged_at is None:
        return None
    for e in cases.case_events(conn, case_id=case.id):
        if e.transition is cases.Transition.ACKNOWLEDGED:
            return e.actor
    return None
