"""A resident's report, their cases and their feedback.

A report opens a case through `cases.Workflow.intake_report` (the same dispatch,
supervision and KPIs as a report taken at the desk), then records in one transaction
that the resident made it and stores its photos. What a resident sees is what they
reported and what the other confirmed residents of their household reported (not an
anonymous report of a housemate); anything else is "not yours", the same answer as a
case that does not exist, so that ids cannot be probed. Only the reporter rates or
reopens, and reopening is open for the compound's `reopen_window` after the resolution.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import cases
import registry
from residents._accounts import Resident
from residents._codes import Phone
from residents._db import Conn, one, rows, transaction
from residents._errors import NotYourHousehold, NotYours, ReportRefused
from residents._photos import MAX_PHOTOS, Photo
from residents._words import STATES, step_words

_BUILDING = re.compile(r"^[A-Za-z0-9_]{1,16}$")
_DONE = frozenset({cases.State.RESOLVED, cases.State.CLOSED})
# A resident acting while staff act too retries once on the fresh version.
ACT_ATTEMPTS = 2


class Where(StrEnum):
    FLAT = "flat"  # their own flat (a confirmed household only)
    BUILDING = "building"  # a building of their compound: its stairwell, its door
    POINT = "point"  # a point on the compound plan, x and y from 0 to 1
    TEXT = "text"  # their own words: "by the north gate"


@dataclass(frozen=True, slots=True)
class Draft:
    """A report as the resident filled it in, validated by `report`."""

    category: str
    description: str
    where: Where
    place: str = ""  # a building id, "x,y" on the plan, or free text; empty for their flat
    anonymous: bool = False
    compound: str | None = None  # an anonymous report of someone with no household yet
    callback: str | None = None  # an anonymous report's call-back number


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    transition: str
    words: dict[str, str]


@dataclass(frozen=True, slots=True)
class OwnCase:
    case: cases.Case
    mine: bool  # reported by this resident (they may rate and reopen it)
    anonymous: bool
    photos: int
    steps: tuple[Step, ...]
    may_reopen_until: datetime | None  # None: not reopenable now

    @property
    def state_words(self) -> dict[str, str]:
        return STATES.get(
            self.case.state.value, {"zh": self.case.state.value, "en": self.case.state.value}
        )


def _location(conn: Conn, resident: Resident, compound: str, draft: Draft) -> str:
    """The case's location for the draft's `where`; refused when it is not theirs to name."""
    place = draft.place.strip()
    if draft.where is Where.FLAT:
        home = resident.confirmed
        if home is None or home.compound != compound:
            raise ReportRefused("where", "only a confirmed household reports about its flat")
        if place and place != home.flat:
            raise NotYourHousehold(
                "place", f"{place} is not your household: report about your own flat"
            )
        return home.flat
    if draft.where is Where.BUILDING:
        known = _BUILDING.match(place) and registry.has_building(conn, compound, place)
        if not known:
            raise ReportRefused("place", f"{compound} has no building {place!r}")
        return place
    if draft.where is Where.POINT:
        try:
            x, y = (float(v) for v in place.split(","))
        except ValueError as exc:
            raise ReportRefused("place", "a point is x,y on the plan, each from 0 to 1") from exc
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise ReportRefused("place", "a point is x,y on the plan, each from 0 to 1")
        return f"plan:{x:.4f},{y:.4f}"
    if not place or len(place) > 200 or "\x00" in place:
        raise ReportRefused("place", "say where in at most 200 characters")
    return place


def report(
    conn: Conn,
    workflow: cases.Workflow,
    resident: Resident,
    draft: Draft,
    photos: list[Photo],
    now: datetime,
) -> cases.Case:
    """Open the case of a resident's report. Refused (`ReportRefused`) for a category the
    compound does not open to residents, a place that is not theirs, or an anonymous
    report where the compound's policy has none."""
    home = resident.confirmed
    anonymous = draft.anonymous or home is None
    compound = home.compound if home is not None else (draft.compound or "")
    if not compound:
        raise ReportRefused("compound", "name the compound (you have no confirmed household yet)")
    policy = workflow.policy.for_residents(compound)
    if draft.category not in policy.categories:
        open_ = ", ".join(sorted(policy.categories))
        raise ReportRefused("category", f"{draft.category!r} is not open to residents ({open_})")
    if anonymous and not policy.anonymous:
        raise ReportRefused(
            "anonymous",
            f"{compound} takes no anonymous reports:"
            " ask your grid worker to confirm your household",
        )
    if not draft.description.strip() or len(draft.description) > 2000:
        raise ReportRefused("description", "say what is wrong in 1 to 2000 characters")
    if len(photos) > MAX_PHOTOS:
        raise ReportRefused("photos", f"at most {MAX_PHOTOS} photos")
    callback = None
    if anonymous:
        try:
            callback = Phone.parse(draft.callback or resident.phone).number
        except ReportRefused as exc:
            raise ReportRefused("callback", exc.reason) from exc
    with transaction(conn):
        if compound not in registry.compound_ids(conn):
            raise ReportRefused("compound", f"no compound {compound!r}")
        location = _location(conn, resident, compound, draft)
    reporter = f"anon-{secrets.token_hex(6)}" if anonymous else resident.ref
    try:
        intake = workflow.intake_report(
            conn,
            cases.Report(
                compound=compound,
                category=draft.category,
                description=draft.description.strip(),
                reporter=reporter,
                source=cases.Source.RESIDENT,
                location=location,
            ),
        )
    except cases.InvalidRequest as exc:
        raise ReportRefused(exc.args[0] if exc.args else "report", str(exc)) from exc
    case = intake.case
    with transaction(conn):
        conn.execute(
            "INSERT INTO resident_reports (case_id, resident_id, compound_id, flat, anonymous,"
            " callback, reported_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                case.id,
                resident.id,
                compound,
                None if anonymous else home and home.flat,
                anonymous,
                callback,
                now,
            ),
        )
        for n, photo in enumerate(photos, start=1):
            conn.execute(
                "INSERT INTO case_photos (case_id, n, media_type, width, height, data, stored_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (case.id, n, photo.media_type, photo.width, photo.height, photo.data, now),
            )
    return case


def _own_rows(conn: Conn, resident: Resident, case_id: int | None = None) -> list[dict[str, Any]]:
    home = resident.confirmed
    where = "r.resident_id = %s"
    params: list[Any] = [resident.id]
    if home is not None:
        where = f"({where} OR (r.compound_id = %s AND r.flat = %s AND NOT r.anonymous))"
        params += [home.compound, home.flat]
    if case_id is not None:
        where += " AND r.case_id = %s"
        params.append(case_id)
    return rows(
        conn,
        "SELECT r.case_id, r.resident_id, r.anonymous,"
        " (SELECT count(*) FROM case_photos p WHERE p.case_id = r.case_id) AS photos"
        f" FROM resident_reports r WHERE {where} ORDER BY r.case_id DESC LIMIT 200",
        params,
    )


def _own(
    conn: Conn, workflow: cases.Workflow, resident: Resident, r: dict[str, Any], now: datetime
) -> OwnCase:
    case = cases.get_case(conn, int(r["case_id"]))
    steps = []
    for e in cases.case_events(conn, case_id=case.id):
        words = step_words(e.transition.value, e.detail)
        if words is not None:
            steps.append(Step(e.at, e.transition.value, words))
    mine = int(r["resident_id"]) == resident.id
    return OwnCase(
        case,
        mine,
        bool(r["anonymous"]),
        int(r["photos"]),
        tuple(steps),
        _reopen_until(workflow, case, now) if mine else None,
    )


def _reopen_until(workflow: cases.Workflow, case: cases.Case, now: datetime) -> datetime | None:
    done_at = case.resolved_at or case.closed_at
    if case.state not in _DONE or done_at is None:
        return None
    until = done_at + workflow.policy.for_residents(case.compound).reopen_window
    return until if until > now else None


def own_cases(
    conn: Conn, workflow: cases.Workflow, resident: Resident, now: datetime
) -> list[OwnCase]:
    """The resident's and their household's reports, newest first."""
    with transaction(conn):
        found = _own_rows(conn, resident)
    return [_own(conn, workflow, resident, r, now) for r in found]


def own_case(
    conn: Conn, workflow: cases.Workflow, resident: Resident, case_id: int, now: datetime
) -> OwnCase:
    """One of them, or `NotYours` (whether it exists or not)."""
    with transaction(conn):
        found = _own_rows(conn, resident, case_id)
    if not found:
        raise NotYours(f"case {case_id}")
    return _own(conn, workflow, resident, found[0], now)


def photo(conn: Conn, case_id: int, n: int) -> Photo | None:
    """A stored photo of a case (the caller decided the reader may see the case)."""
    with transaction(conn):
        r = one(
            conn,
            "SELECT data, width, height, media_type FROM case_photos WHERE case_id = %s AND n = %s",
            (case_id, n),
        )
    return None if r is None else Photo(bytes(r["data"]), r["width"], r["height"], r["media_type"])


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """What staff see of a resident's report beside the case: never the resident's number
    unless they asked to be called back."""

    case_id: int
    anonymous: bool
    callback: str | None
    photos: int
    reported_at: datetime


def report_record(conn: Conn, case_id: int) -> ReportRecord | None:
    """What a resident's report carries beside its case: made by the resident, or taken
    by phone at the desk (`record_phone_intake`), whose caller is not named (anonymous)."""
    with transaction(conn):
        r = one(
            conn,
            "SELECT r.case_id, r.anonymous, r.callback, r.reported_at,"
            " (SELECT count(*) FROM case_photos p WHERE p.case_id = r.case_id) AS photos"
            " FROM resident_reports r WHERE r.case_id = %s"
            " UNION ALL SELECT i.case_id, true, i.callback, i.taken_at, 0"
            " FROM phone_intakes i WHERE i.case_id = %s",
            (case_id, case_id),
        )
    if r is None:
        return None
    return ReportRecord(
        int(r["case_id"]), bool(r["anonymous"]), r["callback"], int(r["photos"]), r["reported_at"]
    )


def record_phone_intake(
    conn: Conn, case_id: int, callback: Phone, *, taken_by: str, now: datetime
) -> None:
    """Keep the call-back number of a report staff took by phone (its case just opened)."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO phone_intakes (case_id, callback, taken_by, taken_at)"
            " VALUES (%s, %s, %s, %s)",
            (case_id, callback.number, taken_by, now),
        )


def _mine(
    conn: Conn, workflow: cases.Workflow, resident: Resident, case_id: int, now: datetime
) -> OwnCase:
    own = own_case(conn, workflow, resident, case_id, now)
    if not own.mine:
        raise ReportRefused("case", "only the resident who reported it rates or reopens it")
    return own


def rate(
    conn: Conn,
    workflow: cases.Workflow,
    resident: Resident,
    case_id: int,
    *,
    rating: int,
    comment: str | None,
    now: datetime,
) -> cases.Case:
    """The reporter's own rating of a resolved or closed case."""
    if not 1 <= rating <= 5:
        raise ReportRefused("rating", f"1 to 5 stars, not {rating}")
    for attempt in range(ACT_ATTEMPTS):
        case = _mine(conn, workflow, resident, case_id, now).case
        if case.state not in _DONE:
            raise ReportRefused("case", "a case is rated once it is done")
        try:
            return workflow.rate(
                conn,
                case.id,
                actor=f"resident:{case.reporter}",
                version=case.version,
                rating=rating,
                comment=(comment or "").strip()[:1000] or None,
            )
        except cases.VersionConflict:
            if attempt + 1 == ACT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def reopen(
    conn: Conn,
    workflow: cases.Workflow,
    resident: Resident,
    case_id: int,
    *,
    reason: str,
    now: datetime,
) -> cases.Case:
    """Open the reporter's case again within the compound's window after its resolution."""
    if not reason.strip() or len(reason) > 1000:
        raise ReportRefused("reason", "say in 1 to 1000 characters why it is not fixed")
    for attempt in range(ACT_ATTEMPTS):
        own = _mine(conn, workflow, resident, case_id, now)
        if own.may_reopen_until is None:
            raise ReportRefused(
                "case", "this case cannot be opened again now (not done, or its window has passed)"
            )
        try:
            return workflow.reopen(
                conn,
                case_id,
                actor=f"resident:{own.case.reporter}",
                version=own.case.version,
                reason=reason.strip(),
            )
        except cases.VersionConflict:
            if attempt + 1 == ACT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")
