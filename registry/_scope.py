"""What a reader may see of the registry and of everything hung off it: a frozen value
built by the API from the caller's role and grids, taken by every scoped read of every
package, so that one definition of "in scope" holds everywhere.

A grid-bound reader (a grid worker) sees what stands in the buildings of their grids;
an elderly-care reader sees elderly-care devices and what concerns elderly flats; the
rest see everything. The SQL fragments name their parameters `scope_*`, so that they
never collide with a query's own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    # "compound/building" keys of the buildings in the reader's grids; None: all of them.
    buildings: frozenset[str] | None = None
    grids: frozenset[str] | None = None  # the reader's grids; None: every grid
    elderly_only: bool = False

    @property
    def grid_bound(self) -> bool:
        return self.buildings is not None

    def sees_building(self, compound: str, address: str | None) -> bool:
        if self.buildings is None:
            return True
        return address is not None and f"{compound}/{address.split('-', 1)[0]}" in self.buildings

    def sees_grid(self, grid: str | None) -> bool:
        return self.grids is None or (grid is not None and grid in self.grids)

    def sees_compound(self, compound: str) -> bool:
        """A grid-bound reader sees the compounds their grids lie in."""
        return self.buildings is None or any(b.startswith(f"{compound}/") for b in self.buildings)

    def params(self) -> dict[str, list[str]]:
        return {
            "scope_buildings": sorted(self.buildings or ()),
            "scope_grids": sorted(self.grids or ()),
        }

    def address_filter(self, compound: str, address: str) -> str:
        """For rows that carry a standard address (flats, households, residents, devices)."""
        if self.buildings is None:
            return ""
        return f" AND {compound} || '/' || split_part({address}, '-', 1) = ANY(%(scope_buildings)s)"

    def device_filter(self, alias: str) -> str:
        """For rows of the `device_places` view (or `devices`) under `alias`."""
        if self.elderly_only:
            return f" AND {alias}.kind = 'elder'" + self.address_filter(
                f"{alias}.compound_id", f"{alias}.address"
            )
        return self.address_filter(f"{alias}.compound_id", f"{alias}.address")

    def grid_filter(self, grid: str) -> str:
        return "" if self.grids is None else f" AND {grid} = ANY(%(scope_grids)s)"


EVERYTHING = Scope()
