"""Quiet hours set through the API, beside the compound file's (as contacts are,
`registry._contacts`): `staff_quiet_hours` keeps both with their `source`; while a
person has an API row it is the one used (without times: no quiet hours at all), a load
of the file leaves it alone, and removing it brings the file's back. Every change is a
row of `registry_changes`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from domain import QuietHours
from registry._contacts import _staff_exists
from registry._db import Conn, reading, transaction
from registry._errors import NotRegistered
from registry._tables import _QUIET, Row, _counts, _Log, _one, _put, _remove


@dataclass(frozen=True, slots=True)
class StaffQuietHours:
    """A person's quiet hours in use and where they come from (`none`: neither set)."""

    compound: str
    staff_id: str
    source: Literal["file", "api", "none"]
    hours: QuietHours | None  # None: no quiet hours


def quiet_hours(conn: Conn, compound: str, staff_id: str) -> StaffQuietHours | None:
    """The quiet hours in use for a staff member; None when the compound has no such one."""
    with reading():
        if not _staff_exists(conn, compound, staff_id):
            return None
        return _in_use(conn, compound, staff_id)


def set_quiet_hours(
    conn: Conn,
    compound: str,
    staff_id: str,
    hours: QuietHours | None,
    *,
    actor: str,
    now: datetime,
) -> StaffQuietHours:
    """Set a staff member's quiet hours through the API (None: none at all, whatever the
    file says); a later load of the file does not change them."""
    row = {
        "staff_id": staff_id,
        "source": "api",
        "starts": None if hours is None else _hhmm(hours.start),
        "ends": None if hours is None else _hhmm(hours.end),
    }
    with transaction(conn):
        old = _locked(conn, compound, staff_id)
        if old != row:
            _put(conn, _QUIET, compound, row)
            _Log(conn, compound, actor, now, _counts()).record(_QUIET, _api_key(staff_id), old, row)
        return _in_use(conn, compound, staff_id)


def clear_quiet_hours(
    conn: Conn, compound: str, staff_id: str, *, actor: str, now: datetime
) -> StaffQuietHours:
    """Remove the API's quiet hours: the compound file's apply again."""
    with transaction(conn):
        old = _locked(conn, compound, staff_id)
        if old is not None:
            _remove(conn, _QUIET, compound, _api_key(staff_id))
            _Log(conn, compound, actor, now, _counts()).record(
                _QUIET, _api_key(staff_id), old, None
            )
        return _in_use(conn, compound, staff_id)


def _api_key(staff_id: str) -> tuple[str, str]:
    return (staff_id, "api")


def _locked(conn: Conn, compound: str, staff_id: str) -> Row | None:
    if not _staff_exists(conn, compound, staff_id, lock=True):
        raise NotRegistered("staff", f"no staff member {staff_id} in compound {compound}")
    return _one(conn, _QUIET, compound, _api_key(staff_id))


def _in_use(conn: Conn, compound: str, staff_id: str) -> StaffQuietHours:
    found = conn.execute(
        "SELECT source, starts, ends FROM staff_quiet_hours WHERE compound_id = %s"
        " AND staff_id = %s ORDER BY source LIMIT 1",  # 'api' sorts first
        (compound, staff_id),
    ).fetchone()
    if found is None:
        return StaffQuietHours(compound, staff_id, "none", None)
    source, starts, ends = found
    hours = None if starts is None else QuietHours(start=starts, end=ends)
    return StaffQuietHours(compound, staff_id, source, hours)


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")
