"""Who is reached when: the on-call rosters and quiet hours the compound file gave
(`rosters[]`, `staff[].quiet_hours`), read for one instant, and the households'
emergency contacts (`households[].emergency_contacts`, kept only with consent). The
time arithmetic is the domain's (`domain.Roster`, `domain.QuietHours`); this module
reads the rows and the compound's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain import Language, QuietHours, Roster, Shift
from registry._db import Conn
from registry._reads import _one, _rows

# The compound file's default (domain.Compound.timezone), for a compound not registered.
DEFAULT_ZONE = "Asia/Shanghai"


def time_zone(conn: Conn, compound: str) -> str:
    """The compound's time zone (IANA name), the compound file's default if unknown."""
    return _zone(conn, compound)


def _zone(conn: Conn, compound: str) -> str:
    found = _one(conn, "SELECT timezone FROM compounds WHERE id = %s", (compound,))
    return DEFAULT_ZONE if found is None else str(found["timezone"])


def roster(conn: Conn, compound: str, party: str, grid: str | None) -> Roster | None:
    """The party's roster for the grid, else its roster for every grid, else None."""
    head = _one(
        conn,
        "SELECT grid_id, fallback FROM rosters WHERE compound_id = %s AND party_id = %s"
        " AND grid_id IN (%s, '') ORDER BY grid_id = '' LIMIT 1",
        (compound, party, grid or ""),
    )
    if head is None:
        return None
    shifts = _rows(
        conn,
        "SELECT days, starts, ends, staff FROM roster_shifts WHERE compound_id = %s"
        " AND party_id = %s AND grid_id = %s ORDER BY position",
        (compound, party, head["grid_id"]),
    )
    return Roster(
        party=party,
        grid=head["grid_id"] or None,
        shifts=[
            Shift(days=s["days"], start=s["starts"], end=s["ends"], staff=s["staff"])
            for s in shifts
        ],
        fallback=head["fallback"],
    )


def on_duty(
    conn: Conn, compound: str, party: str | None, grid: str | None, at: datetime
) -> list[str] | None:
    """The party's staff on duty at `at` for the grid, in roster order (every shift on
    then; outside any shift, the fallback list); None when the party has no roster, so
    the caller keeps to the party's whole staff."""
    found = None if party is None else roster(conn, compound, party, grid)
    return None if found is None else found.on_duty(at, _zone(conn, compound))


def on_call(
    conn: Conn, compound: str, party: str | None, grid: str | None, at: datetime
) -> list[str] | None:
    """Who to climb through after those on duty: the roster's fallback list (None without a
    roster)."""
    found = None if party is None else roster(conn, compound, party, grid)
    if found is None:
        return None
    return list(dict.fromkeys([*found.on_duty(at, _zone(conn, compound)), *found.fallback]))


def quiet_until(
    conn: Conn, compound: str, staff: Sequence[str], at: datetime
) -> dict[str, datetime]:
    """For those of `staff` in their quiet hours at `at`: when those hours end (UTC)."""
    found = _rows(
        conn,
        # a person's API-set quiet hours, when they have any, over the file's ('api' sorts
        # first); an API row without times: no quiet hours at all
        "SELECT DISTINCT ON (staff_id) staff_id, starts, ends FROM staff_quiet_hours"
        " WHERE compound_id = %s AND staff_id = ANY(%s) ORDER BY staff_id, source",
        (compound, list(staff)),
    )
    zone = _zone(conn, compound)
    out: dict[str, datetime] = {}
    for r in found:
        if r["starts"] is None:
            continue
        until = QuietHours(start=r["starts"], end=r["ends"]).until(at, zone)
        if until is not None:
            out[str(r["staff_id"])] = until
    return out


def emergency_contacts(
    conn: Conn, compound: str, flat: str | None
) -> list[tuple[str, str, Language]]:
    """A consenting household's emergency contacts in order, as (name, URL, language):
    none for a household that did not consent (the registry keeps none of theirs)."""
    if flat is None:
        return []
    found = _rows(
        conn,
        "SELECT name, url, language FROM emergency_contacts WHERE compound_id = %s"
        " AND flat = %s ORDER BY position",
        (compound, flat),
    )
    return [(str(r["name"]), str(r["url"]), Language(r["language"])) for r in found]


def staff_languages(conn: Conn, compound: str, staff: Sequence[str]) -> dict[str, Language]:
    """The language each of `staff` reads notifications in (Chinese unless the file says
    otherwise)."""
    found = _rows(
        conn,
        "SELECT staff_id, language FROM staff_languages WHERE compound_id = %s"
        " AND staff_id = ANY(%s)",
        (compound, list(staff)),
    )
    chosen = {str(r["staff_id"]): Language(r["language"]) for r in found}
    return {s: chosen.get(s, Language.ZH) for s in staff}
