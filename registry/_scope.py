"""What a reader may see of the registry and of everything hung off it: a frozen value
built by the API from the caller's role and grids, taken by every scoped read of every
package, so that one definition of "in scope" holds everywhere.

Grid, building and staff ids are unique only within a compound (two compounds may both
have a `g1`), so a grid is always the pair (compound, grid) and a building the key
"compound/building"; nothing here compares a bare grid id.

Above the grid scope stands the organisation's (issue 20): a reader of an organisation
other than the platform sees only the compounds it serves (`within`), whatever the role.
A grid-bound reader (a grid worker) sees what stands in the buildings of their grids
and the compounds those grids lie in; an elderly-care reader sees elderly-care devices
and what concerns elderly flats; the rest see everything within their organisation's
compounds. The SQL fragments name their parameters `scope_*`, so that they never collide
with a query's own, and every fragment applies `within` first.
"""

from __future__ import annotations

from dataclasses import dataclass

GridKey = tuple[str, str]  # (compound, grid)


@dataclass(frozen=True, slots=True)
class Scope:
    # "compound/building" keys of the buildings in the reader's grids; None: all of them.
    buildings: frozenset[str] | None = None
    grids: frozenset[GridKey] | None = None  # the reader's grids; None: every grid
    elderly_only: bool = False
    # The compounds the reader's organisation serves; None: every compound (the platform).
    within: frozenset[str] | None = None

    @property
    def grid_bound(self) -> bool:
        return self.buildings is not None or self.grids is not None

    @property
    def compounds(self) -> frozenset[str] | None:
        """The compounds the reader sees anything of; None: all of them."""
        if not self.grid_bound:
            return self.within
        found = frozenset(c for c, _ in self.grids or ()) | frozenset(
            b.split("/", 1)[0] for b in self.buildings or ()
        )
        return found if self.within is None else found & self.within

    def _within(self, compound: str) -> bool:
        return self.within is None or compound in self.within

    def sees_building(self, compound: str, address: str | None) -> bool:
        if not self._within(compound):
            return False
        if not self.grid_bound:
            return True
        return address is not None and (
            f"{compound}/{address.split('-', 1)[0]}" in (self.buildings or ())
        )

    def sees_grid(self, compound: str, grid: str | None) -> bool:
        if not self._within(compound):
            return False
        return self.grids is None or (grid is not None and (compound, grid) in self.grids)

    def sees_compound(self, compound: str) -> bool:
        """The reader's organisation serves it (and a grid-bound reader's grids lie in it)."""
        found = self.compounds
        return found is None or compound in found

    def params(self) -> dict[str, list[str]]:
        return {
            "scope_buildings": sorted(self.buildings or ()),
            "scope_grids": sorted(f"{c}/{g}" for c, g in self.grids or ()),
            "scope_compounds": sorted(self.compounds or ()),
            "scope_within": sorted(self.within or ()),
        }

    def within_filter(self, compound: str) -> str:
        """The organisation's compounds only (no grid or building condition)."""
        if self.within is None:
            return ""
        return f" AND {compound} = ANY(%(scope_within)s)"

    def address_filter(self, compound: str, address: str) -> str:
        """For rows that carry a standard address (flats, households, residents, devices)."""
        if not self.grid_bound:
            return self.within_filter(compound)
        return (
            self.within_filter(compound)
            + f" AND {compound} || '/' || split_part({address}, '-', 1) = ANY(%(scope_buildings)s)"
        )

    def device_filter(self, alias: str) -> str:
        """For rows of the `device_places` view (or `devices`) under `alias`."""
        if self.elderly_only:
            return f" AND {alias}.kind = 'elder'" + self.address_filter(
                f"{alias}.compound_id", f"{alias}.address"
            )
        return self.address_filter(f"{alias}.compound_id", f"{alias}.address")

    def grid_filter(self, compound: str, grid: str) -> str:
        """For rows that carry a grid: the pair (compound, grid) must be the reader's."""
        if not self.grid_bound:
            return self.within_filter(compound)
        return (
            self.within_filter(compound)
            + f" AND {compound} || '/' || {grid} = ANY(%(scope_grids)s)"
        )

    def compound_filter(self, compound: str) -> str:
        """For rows of a compound that carry no address (staff, parties, the change log)."""
        if self.compounds is None:
            return ""
        return f" AND {compound} = ANY(%(scope_compounds)s)"


EVERYTHING = Scope()
