"""The escalation ladder's upper rungs as parties of a compound (issue 20).

The community rung is the residents' committee serving the compound; the subdistrict rung
is the subdistrict office above it: an organisation over the committee's (the nearest of
kind `subdistrict_office`, else its parent), or else one of that kind serving the
compound. A rung's people are the staff of the party that organisation is in the compound,
with their rosters, contacts and quiet hours like anyone's: that is whom the notifier
reaches when a case climbs. `organisation_party` is what an organisation's account takes a
case over as.
"""

from __future__ import annotations

from domain import PartyKind
from registry._db import Conn
from registry._organisations import MAX_DEPTH
from registry._reads import _one, party_of_kind

# The office's party, best first: an office over the committee's organisation (nearest
# first), the committee organisation's parent whatever its kind, an office serving the
# compound directly.
_OFFICE = """
WITH RECURSIVE up(id, kind, parent_id, depth) AS (
    SELECT o.id, o.kind, o.parent_id, 0 FROM parties p
        JOIN organisations o ON o.id = p.organisation_id
        WHERE p.compound_id = %(compound)s AND p.id = %(community)s
    UNION ALL
    SELECT o.id, o.kind, o.parent_id, u.depth + 1 FROM organisations o
        JOIN up u ON o.id = u.parent_id WHERE u.depth < %(depth)s
), office(id, preference, depth) AS (
    SELECT id, 0, depth FROM up WHERE depth > 0 AND kind = %(kind)s
    UNION ALL SELECT id, 1, depth FROM up WHERE depth = 1
    UNION ALL SELECT oc.organisation_id, 2, 0 FROM organisation_compounds oc
        JOIN organisations o ON o.id = oc.organisation_id
        WHERE oc.compound_id = %(compound)s AND o.kind = %(kind)s
)
SELECT p.id FROM office JOIN parties p
    ON p.organisation_id = office.id AND p.compound_id = %(compound)s
WHERE p.id IS DISTINCT FROM %(community)s
ORDER BY office.preference, office.depth, p.id LIMIT 1
"""


def community_party(conn: Conn, compound: str) -> str | None:
    """The party of the compound's residents' committee (the community rung), one that is
    an organisation serving the compound first."""
    found = _one(
        conn,
        "SELECT id FROM parties WHERE compound_id = %s AND kind = %s"
        " ORDER BY organisation_id IS NULL, id LIMIT 1",
        (compound, PartyKind.RESIDENTS_COMMITTEE.value),
    )
    return None if found is None else str(found["id"])


def subdistrict_party(conn: Conn, compound: str) -> str | None:
    """The party of the subdistrict office over the compound's community (the top rung);
    without organisations in the registry, the compound's party of kind
    `subdistrict_office`."""
    community = community_party(conn, compound)
    found = _one(
        conn,
        _OFFICE,
        {
            "compound": compound,
            "community": community,
            "depth": MAX_DEPTH,
            "kind": PartyKind.SUBDISTRICT_OFFICE.value,
        },
    )
    if found is not None:
        return str(found["id"])
    return party_of_kind(conn, compound, PartyKind.SUBDISTRICT_OFFICE.value)


def organisation_party(conn: Conn, compound: str, organisation: str) -> str | None:
    """The party `organisation` is in the compound (the first by id), or None."""
    found = _one(
        conn,
        "SELECT id FROM parties WHERE compound_id = %s AND organisation_id = %s"
        " ORDER BY id LIMIT 1",
        (compound, organisation),
    )
    return None if found is None else str(found["id"])
