"""What care checks of the registry before it takes a row: the compound, the household
and its tags, the household's grid, and whether a visitor or deliverer serves the
compound. Read through the registry's public functions, each time."""

from __future__ import annotations

import registry
from care._db import Conn
from care._errors import InvalidCare
from domain import HouseholdTag


def compound_known(conn: Conn, compound: str) -> None:
    if compound not in registry.compound_ids(conn):
        raise InvalidCare(
            "compound", f"no compound {compound!r}", code="care.no_compound", compound=compound
        )


def household_tags(conn: Conn, compound: str, flat: str) -> set[HouseholdTag]:
    """The household's tags; `InvalidCare` when the compound has no household there."""
    compound_known(conn, compound)
    building = registry.Scope(buildings=frozenset({f"{compound}/{flat.split('-', 1)[0]}"}))
    offset, page = 0, 500
    while True:
        rows, total = registry.household_page(
            conn, building, compound=compound, tag=None, limit=page, offset=offset
        )
        for r in rows:
            if r["flat"] == flat:
                return {HouseholdTag(t) for t in r["tags"]}
        offset += page
        if offset >= total or not rows:
            raise InvalidCare(
                "flat",
                f"{compound} has no household at {flat}",
                code="care.no_household",
                compound=compound,
                flat=flat,
            )


def tagged(conn: Conn, compound: str, flat: str, tag: HouseholdTag) -> str | None:
    """The household's grid, once it is known to carry `tag`."""
    if tag not in household_tags(conn, compound, flat):
        raise InvalidCare(
            "tag",
            f"household {flat} is not tagged {tag.value}",
            code="care.not_tagged",
            flat=flat,
            tag=tag.value,
        )
    return registry.grid_of(conn, compound, flat)


def serves(conn: Conn, compound: str, field: str, who: str) -> None:
    """A visitor or deliverer is a staff member or a party of the compound."""
    if registry.staff_member(conn, compound, who) is None and (
        registry.party(conn, compound, who) is None
    ):
        raise InvalidCare(
            field,
            f"no staff member or party {who!r} serves {compound}",
            code="care.not_serving",
            who=who,
            compound=compound,
        )
