"""Announcements in SQL: publish, withdraw, list (with audience and read counts), the
current ones for one household, and read receipts. The audience is resolved against
the registry's households through its public reads, when asked, so a household that
moves in or is tagged later is in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import registry
from announce._db import Conn, transaction
from announce._errors import AnnouncementNotFound, InvalidAnnouncement
from announce._model import Announcement, Draft
from domain import HouseholdTag

# The registry's pages are read this many households at a time (a compound of a few
# hundred buildings has a few thousand households).
PAGE = 1000

_COLUMNS = (
    "a.id, a.compound_id, a.title, a.body, a.buildings, a.flats, a.tag, a.starts_at,"
    " a.ends_at, a.published_by, a.published_at, a.withdrawn_at,"
    " (SELECT count(*) FROM announcement_reads r WHERE r.announcement_id = a.id),"
    " (SELECT count(*) FROM announcement_deliveries d WHERE d.announcement_id = a.id"
    "  AND d.state = 'sent'),"
    " (SELECT count(*) FROM announcement_deliveries d WHERE d.announcement_id = a.id"
    "  AND d.state = 'failed')"
)


def households(conn: Conn, compound: str, tag: HouseholdTag | None = None) -> dict[str, set[str]]:
    """The compound's households (flats), by tag when given, as flat -> its tags."""
    found: dict[str, set[str]] = {}
    offset = 0
    while True:
        rows, total = registry.household_page(
            conn,
            registry.EVERYTHING,
            compound=compound,
            tag=None if tag is None else tag.value,
            limit=PAGE,
            offset=offset,
        )
        found.update({str(r["flat"]): set(r["tags"]) for r in rows})
        offset += PAGE
        if offset >= total or not rows:
            return found


def audience(conn: Conn, a: Announcement | Draft) -> list[str]:
    """The flats of the households an announcement reaches, in order."""
    chosen = households(conn, a.compound, a.tag)
    buildings, flats = set(a.buildings), set(a.flats)
    return sorted(
        f
        for f in chosen
        if (not buildings and not flats) or f in flats or f.split("-", 1)[0] in buildings
    )


def publish(conn: Conn, draft: Draft, *, actor: str, now: datetime) -> Announcement:
    """Store a draft whose compound, buildings and flats the registry knows."""
    _check_targets(conn, draft)
    with transaction(conn):
        row = conn.execute(
            "INSERT INTO announcements (compound_id, title, body, buildings, flats, tag,"
            " starts_at, ends_at, published_by, published_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                draft.compound,
                draft.title,
                draft.body,
                list(draft.buildings),
                list(draft.flats),
                None if draft.tag is None else draft.tag.value,
                draft.starts_at,
                draft.ends_at,
                actor,
                now,
            ),
        ).fetchone()
    assert row is not None
    return get(conn, draft.compound, int(row[0]))


def _check_targets(conn: Conn, draft: Draft) -> None:
    if draft.compound not in registry.compound_ids(conn):
        raise InvalidAnnouncement("compound", f"no compound {draft.compound!r}")
    rows, _ = registry.building_page(
        conn, registry.EVERYTHING, compound=draft.compound, limit=PAGE, offset=0
    )
    unknown = sorted(set(draft.buildings) - {str(r["id"]) for r in rows})
    if unknown:
        raise InvalidAnnouncement("buildings", f"not in {draft.compound}: {', '.join(unknown)}")
    missing = sorted(set(draft.flats) - set(households(conn, draft.compound)))
    if missing:
        raise InvalidAnnouncement("flats", f"no such household: {', '.join(missing[:10])}")


def get(conn: Conn, compound: str, announcement_id: int) -> Announcement:
    with transaction(conn):
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM announcements a WHERE a.id = %s AND a.compound_id = %s",
            (announcement_id, compound),
        ).fetchone()
    if row is None:
        raise AnnouncementNotFound(announcement_id)
    return _with_audience(conn, [row])[0]


def listed(
    conn: Conn, compound: str, *, now: datetime, current: bool, limit: int, offset: int
) -> tuple[list[Announcement], int]:
    """A compound's announcements, newest window first; `current`: in their window now
    and not withdrawn."""
    where = "a.compound_id = %(c)s"
    if current:
        where += " AND a.withdrawn_at IS NULL AND a.starts_at <= %(now)s AND a.ends_at > %(now)s"
    params = {"c": compound, "now": now, "limit": limit, "offset": offset}
    with transaction(conn):
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM announcements a WHERE {where}"
            " ORDER BY a.starts_at DESC, a.id DESC LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).fetchall()
        total = conn.execute(f"SELECT count(*) FROM announcements a WHERE {where}", params)
        count = total.fetchone()
    return _with_audience(conn, rows), int(count[0]) if count else 0


def for_household(conn: Conn, compound: str, flat: str, *, now: datetime) -> list[Announcement]:
    """The current announcements a household is in the audience of (its page's list)."""
    data, _ = listed(conn, compound, now=now, current=True, limit=PAGE, offset=0)
    return [a for a in data if flat in audience(conn, a)]


def read_by(conn: Conn, flat: str, announcement_ids: Sequence[int]) -> frozenset[int]:
    """Which of these announcements the household has read (its page marks the rest)."""
    if not announcement_ids:
        return frozenset()
    with transaction(conn):
        rows = conn.execute(
            "SELECT announcement_id FROM announcement_reads"
            " WHERE flat = %s AND announcement_id = ANY(%s)",
            (flat, list(announcement_ids)),
        ).fetchall()
    return frozenset(int(r[0]) for r in rows)


def withdraw(conn: Conn, compound: str, announcement_id: int, *, now: datetime) -> Announcement:
    """End an announcement early: it is no longer current, and no longer sent."""
    with transaction(conn):
        found = conn.execute(
            "UPDATE announcements SET withdrawn_at = coalesce(withdrawn_at, %s)"
            " WHERE id = %s AND compound_id = %s RETURNING id",
            (now, announcement_id, compound),
        ).fetchone()
        if found is None:
            raise AnnouncementNotFound(announcement_id)
        conn.execute(
            "UPDATE announcement_deliveries SET state = 'failed', error = 'withdrawn',"
            " updated_at = %s WHERE announcement_id = %s AND state = 'queued'",
            (now, announcement_id),
        )
    return get(conn, compound, announcement_id)


def record_read(
    conn: Conn, compound: str, announcement_id: int, flat: str, *, actor: str, now: datetime
) -> tuple[Announcement, bool]:
    """A household read a current announcement addressed to it; a second read counts
    once. Returns the announcement and whether this read was the household's first."""
    found = get(conn, compound, announcement_id)
    if flat not in audience(conn, found):
        raise InvalidAnnouncement("flat", f"{flat} is not in announcement {found.id}'s audience")
    if not found.current(now):
        raise InvalidAnnouncement("announcement", f"announcement {found.id} is not current")
    with transaction(conn):
        inserted = conn.execute(
            "INSERT INTO announcement_reads (announcement_id, flat, read_at, recorded_by)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING flat",
            (announcement_id, flat, now, actor),
        ).fetchone()
    return get(conn, compound, announcement_id), inserted is not None


def _with_audience(conn: Conn, rows: Sequence[Sequence[Any]]) -> list[Announcement]:
    out = []
    for r in rows:
        bare = Announcement(
            id=int(r[0]),
            compound=str(r[1]),
            title=str(r[2]),
            body=str(r[3]),
            buildings=tuple(r[4]),
            flats=tuple(r[5]),
            tag=None if r[6] is None else HouseholdTag(r[6]),
            starts_at=r[7],
            ends_at=r[8],
            published_by=str(r[9]),
            published_at=r[10],
            withdrawn_at=r[11],
            households=0,
            reads=int(r[12]),
            sent=int(r[13]),
            failed=int(r[14]),
        )
        out.append(replace(bare, households=len(audience(conn, bare))))
    return out
