"""Organisations: who owns or serves which compounds (issue 20's tenancy).

An organisation (a property company, an elderly-care centre, a residents' committee, a
subdistrict office, ...: its kind is a word, not a fixed list) serves the compounds
linked to it and, through its parent link, those of every organisation under it: a
subdistrict office sees its communities' compounds. Every API account belongs to one
organisation, and `served_compounds` is what scopes it. `PLATFORM`, the operator of this
Dayuan, serves every compound (its `served_compounds` is None: no restriction).

Changes are logged in `registry_changes`: a link under its compound (entity
`organisation_compounds`), an organisation's own record under the compound key `*`
(the platform's log, read by `organisation_changes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain import Organisation as OrganisationEntry
from registry._db import Conn, reading, transaction
from registry._errors import NotRegistered, ValueRefused
from registry._tables import RegistryChange, log_change

PLATFORM = "platform"
# The log's compound key for changes that concern no one compound.
_PLATFORM_LOG = "*"
# Bounds a parent chain walk: no real hierarchy (platform > city > district > subdistrict >
# community > committee) is deeper, and a longer one is a mistake.
MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: str
    parent: str | None
    compounds: tuple[str, ...]  # linked directly (those of the organisations under it not)


_SERVED = """
WITH RECURSIVE tree(id, depth) AS (
    SELECT id, 0 FROM organisations WHERE id = %(org)s
    UNION
    SELECT o.id, t.depth + 1 FROM organisations o JOIN tree t ON o.parent_id = t.id
    WHERE t.depth < %(depth)s
)
SELECT DISTINCT oc.compound_id FROM organisation_compounds oc JOIN tree t
    ON oc.organisation_id = t.id
"""


def served_compounds(conn: Conn, organisation: str) -> frozenset[str] | None:
    """The compounds `organisation` serves, itself or through the organisations under it;
    None for the platform (every compound). An unknown organisation serves none."""
    if organisation == PLATFORM:
        return None
    with reading():
        found = conn.execute(_SERVED, {"org": organisation, "depth": MAX_DEPTH}).fetchall()
    return frozenset(str(r[0]) for r in found)


def _tree(conn: Conn, organisation: str) -> list[str]:
    """`organisation` and those under it."""
    found = conn.execute(
        "WITH RECURSIVE tree(id, depth) AS (SELECT id, 0 FROM organisations WHERE id = %(org)s"
        " UNION SELECT o.id, t.depth + 1 FROM organisations o JOIN tree t"
        " ON o.parent_id = t.id WHERE t.depth < %(depth)s) SELECT id FROM tree",
        {"org": organisation, "depth": MAX_DEPTH},
    ).fetchall()
    return [str(r[0]) for r in found]


def organisations(conn: Conn, *, under: str | None = None) -> list[Organisation]:
    """Every organisation, or `under` and those under it (None: all), by id."""
    with reading():
        ids = None if under is None or under == PLATFORM else _tree(conn, under)
        found = conn.execute(
            "SELECT o.id, o.name, o.kind, o.parent_id,"
            " coalesce(array_agg(oc.compound_id ORDER BY oc.compound_id)"
            "   FILTER (WHERE oc.compound_id IS NOT NULL), '{}')"
            " FROM organisations o LEFT JOIN organisation_compounds oc"
            " ON oc.organisation_id = o.id"
            " WHERE %(ids)s::text[] IS NULL OR o.id = ANY(%(ids)s)"
            " GROUP BY o.id ORDER BY o.id",
            {"ids": ids},
        ).fetchall()
    return [Organisation(r[0], r[1], r[2], r[3], tuple(r[4])) for r in found]


def organisation(conn: Conn, organisation_id: str) -> Organisation | None:
    with reading():
        found = conn.execute(
            "SELECT o.id, o.name, o.kind, o.parent_id,"
            " coalesce(array_agg(oc.compound_id ORDER BY oc.compound_id)"
            "   FILTER (WHERE oc.compound_id IS NOT NULL), '{}')"
            " FROM organisations o LEFT JOIN organisation_compounds oc"
            " ON oc.organisation_id = o.id WHERE o.id = %s GROUP BY o.id",
            (organisation_id,),
        ).fetchone()
    return (
        None
        if found is None
        else Organisation(found[0], found[1], found[2], found[3], tuple(found[4]))
    )


def is_under(conn: Conn, organisation: str, above: str) -> bool:
    """Whether `organisation` is `above` or lies under it (the platform is above all)."""
    if above == PLATFORM:
        return True
    with reading():
        return organisation in _tree(conn, above)


def serving(conn: Conn, compound: str) -> list[str]:
    """The organisations linked to `compound` (not their parents), by id."""
    with reading():
        found = conn.execute(
            "SELECT organisation_id FROM organisation_compounds WHERE compound_id = %s"
            " ORDER BY organisation_id",
            (compound,),
        ).fetchall()
    return [str(r[0]) for r in found]


def put_organisation(
    conn: Conn,
    entry: OrganisationEntry,
    *,
    actor: str,
    now: datetime,
    compounds: bool = True,
) -> tuple[Organisation, bool]:
    """Create or change an organisation (and, with `compounds`, make its links match the
    entry's); True when it was created. Logged."""
    with transaction(conn):
        created = _put(conn, entry, actor=actor, now=now)
        if compounds:
            _links(conn, entry.id, entry.compounds, actor=actor, now=now)
    found = organisation(conn, entry.id)
    assert found is not None  # just written
    return found, created


def put_organisations(
    conn: Conn, entries: Iterable[OrganisationEntry], *, actor: str, now: datetime
) -> None:
    """A compound file's organisations, in the caller's transaction: parents first (a
    parent the file does not list must exist already); links are only added."""
    pending = {e.id: e for e in entries}
    while pending:
        ready = [e for e in pending.values() if e.parent not in pending]
        if not ready:
            raise ValueRefused(f"organisations' parents form a cycle: {sorted(pending)}")
        for entry in ready:
            _put(conn, entry, actor=actor, now=now)
            for compound in entry.compounds:
                add_link(conn, entry.id, compound, actor=actor, now=now)
            del pending[entry.id]


def link(conn: Conn, organisation_id: str, compound: str, *, actor: str, now: datetime) -> bool:
    """Link a compound to an organisation; False when it was linked already."""
    with transaction(conn):
        _known(conn, organisation_id)
        return add_link(conn, organisation_id, compound, actor=actor, now=now)


def unlink(conn: Conn, organisation_id: str, compound: str, *, actor: str, now: datetime) -> bool:
    """Unlink a compound; False when it was not linked."""
    with transaction(conn):
        gone = conn.execute(
            "DELETE FROM organisation_compounds WHERE organisation_id = %s AND compound_id = %s",
            (organisation_id, compound),
        ).rowcount
        if gone:
            log_change(
                conn,
                compound,
                "organisation_compounds",
                organisation_id,
                "removed",
                {},
                None,
                actor=actor,
                now=now,
            )
    return bool(gone)


def organisation_changes(
    conn: Conn, *, after_id: int = 0, limit: int = 100
) -> list[RegistryChange]:
    """The organisations' own change log (not their links: those are their compounds')."""
    with reading():
        found = conn.execute(
            "SELECT id, at, actor, compound_id, entity, key, change, before, after"
            " FROM registry_changes WHERE compound_id = %s AND id > %s ORDER BY id LIMIT %s",
            (_PLATFORM_LOG, after_id, limit),
        ).fetchall()
    return [RegistryChange(*r) for r in found]


def _known(conn: Conn, organisation_id: str) -> None:
    if (
        conn.execute("SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)).fetchone()
        is None
    ):
        raise NotRegistered("organisation", f"no organisation {organisation_id!r}")


def _put(conn: Conn, entry: OrganisationEntry, *, actor: str, now: datetime) -> bool:
    if entry.id == PLATFORM and (entry.parent is not None or entry.kind != PLATFORM):
        raise ValueRefused("the platform organisation stands above every other: it has no parent")
    if entry.parent is not None:
        _known(conn, entry.parent)
        if entry.parent in _tree(conn, entry.id):
            raise ValueRefused(f"{entry.parent!r} lies under {entry.id!r}: it cannot be its parent")
    before = conn.execute(
        "SELECT name, kind, parent_id FROM organisations WHERE id = %s FOR UPDATE", (entry.id,)
    ).fetchone()
    after = {"name": entry.name, "kind": entry.kind, "parent_id": entry.parent}
    if before is None:
        conn.execute(
            "INSERT INTO organisations (id, name, kind, parent_id, created_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (entry.id, entry.name, entry.kind, entry.parent, now),
        )
        log_change(
            conn,
            _PLATFORM_LOG,
            "organisations",
            entry.id,
            "added",
            None,
            after,
            actor=actor,
            now=now,
        )
        return True
    was = {"name": before[0], "kind": before[1], "parent_id": before[2]}
    if was != after:
        conn.execute(
            "UPDATE organisations SET name = %s, kind = %s, parent_id = %s WHERE id = %s",
            (entry.name, entry.kind, entry.parent, entry.id),
        )
        log_change(
            conn,
            _PLATFORM_LOG,
            "organisations",
            entry.id,
            "changed",
            was,
            after,
            actor=actor,
            now=now,
        )
    return False


def _links(
    conn: Conn, organisation_id: str, compounds: list[str], *, actor: str, now: datetime
) -> None:
    current = {
        str(r[0])
        for r in conn.execute(
            "SELECT compound_id FROM organisation_compounds WHERE organisation_id = %s",
            (organisation_id,),
        ).fetchall()
    }
    for compound in sorted(set(compounds) - current):
        add_link(conn, organisation_id, compound, actor=actor, now=now)
    for compound in sorted(current - set(compounds)):
        conn.execute(
            "DELETE FROM organisation_compounds WHERE organisation_id = %s AND compound_id = %s",
            (organisation_id, compound),
        )
        log_change(
            conn,
            compound,
            "organisation_compounds",
            organisation_id,
            "removed",
            {},
            None,
            actor=actor,
            now=now,
        )


def add_link(conn: Conn, organisation_id: str, compound: str, *, actor: str, now: datetime) -> bool:
    if conn.execute("SELECT 1 FROM compounds WHERE id = %s", (compound,)).fetchone() is None:
        raise NotRegistered("compound", f"no compound {compound!r}")
    added = conn.execute(
        "INSERT INTO organisation_compounds (organisation_id, compound_id) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (organisation_id, compound),
    ).rowcount
    if added:
        log_change(
            conn,
            compound,
            "organisation_compounds",
            organisation_id,
            "added",
            None,
            {},
            actor=actor,
            now=now,
        )
    return bool(added)
