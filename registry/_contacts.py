"""Staff contact points set through the API, beside the compound file's.

A person's contacts come from one of two sources: the compound file (`staff[].contacts`,
rewritten by every load) or the API (a person's own edit or an administrator's). Both are
kept in `staff_contacts` with their `source`; while a person has contacts set through the
API those are the ones used, so reloading the file never wipes an edit, and removing the
API's brings the file's back at once. Every change is logged in `registry_changes` as
field names only: a URL may carry a password.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from registry._db import Conn, reading, transaction
from registry._errors import NotRegistered
from registry._tables import _CONTACTS, _counts, _Log, _put, _remove

Source = Literal["file", "api"]


@dataclass(frozen=True, slots=True)
class ContactPoints:
    """A staff member's contacts in use (secrets: the API shows scheme and host only)."""

    compound: str
    staff_id: str
    source: Source
    urls: tuple[str, ...]


def contact_points(conn: Conn, compound: str, staff_id: str) -> ContactPoints | None:
    """The contacts in use for a staff member, or None when the compound has no such one."""
    with reading():
        if not _staff_exists(conn, compound, staff_id):
            return None
        return _in_use(conn, compound, staff_id)


def set_staff_contacts(
    conn: Conn, compound: str, staff_id: str, urls: Sequence[str], *, actor: str, now: datetime
) -> ContactPoints:
    """Replace a staff member's API-set contacts (an empty list removes them, and the
    compound file's apply again). The URLs are taken as given: the caller checks them."""
    with transaction(conn):
        if not _staff_exists(conn, compound, staff_id, lock=True):
            raise NotRegistered("staff", f"no staff member {staff_id} in compound {compound}")
        old = {
            int(p): str(u)
            for p, u in conn.execute(
                "SELECT position, url FROM staff_contacts WHERE compound_id = %s"
                " AND staff_id = %s AND source = 'api'",
                (compound, staff_id),
            ).fetchall()
        }
        log = _Log(conn, compound, actor, now, _counts())
        for position, url in enumerate(urls):
            key = (staff_id, "api", str(position))
            row = {"staff_id": staff_id, "source": "api", "position": position, "url": url}
            if old.get(position) != url:
                before = None if position not in old else {**row, "url": old[position]}
                _put(conn, _CONTACTS, compound, row)
                log.record(_CONTACTS, key, before, row)
        for position in sorted(set(old) - set(range(len(urls)))):
            key = (staff_id, "api", str(position))
            _remove(conn, _CONTACTS, compound, key)
            row = {"staff_id": staff_id, "source": "api", "position": position}
            log.record(_CONTACTS, key, {**row, "url": old[position]}, None)
        return _in_use(conn, compound, staff_id)


def _staff_exists(conn: Conn, compound: str, staff_id: str, *, lock: bool = False) -> bool:
    found = conn.execute(
        "SELECT 1 FROM staff WHERE compound_id = %s AND id = %s" + (" FOR UPDATE" if lock else ""),
        (compound, staff_id),
    ).fetchone()
    return found is not None


def _in_use(conn: Conn, compound: str, staff_id: str) -> ContactPoints:
    rows = conn.execute(
        "SELECT source, url FROM staff_contacts WHERE compound_id = %s AND staff_id = %s"
        " ORDER BY source, position",  # 'api' sorts first
        (compound, staff_id),
    ).fetchall()
    source: Source = "api" if rows and rows[0][0] == "api" else "file"
    urls = tuple(str(u) for s, u in rows if s == source)
    return ContactPoints(compound, staff_id, source, urls)
