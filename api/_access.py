"""Who may do what: one table of permissions by role, and the grid scope of a user.

Every route names the permission it needs; the authorization tests walk the same table.
A grid worker sees what sits in their grids (devices and flats by building, cases by
grid, always keyed by compound too); a care responder sees elderly-care devices and
alarms; the other roles see all, but only admins and care responders see health data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import registry
from domain import StaffRole

ADMIN = StaffRole.ADMIN
PROPERTY = StaffRole.PROPERTY_STAFF
GRID = StaffRole.GRID_WORKER
CARE = StaffRole.CARE_RESPONDER
VIEWER = StaffRole.VIEWER
SUPERVISOR = StaffRole.SUPERVISOR
EVERYONE = frozenset(StaffRole)


class Permission(StrEnum):
    READ = "read"  # devices, telemetry, events without people, alarms, cases, registry, kpis
    READ_RESIDENTS = "read_residents"  # who lives where (pseudonymous refs): audited
    READ_RESIDENT_DETAILS = "read_resident_details"  # contact and health: audited
    READ_ACCESS_EVENTS = "read_access_events"  # person refs and plates: audited
    READ_DEAD_LETTERS = "read_dead_letters"
    WORK_CASES = "work_cases"  # open reports, act on cases
    COMMAND_LIGHT = "command_light"
    COMMAND_BARRIER = "command_barrier"
    COMMAND_GATE = "command_gate"  # unlocking a door lets people in: the narrowest
    READ_COMMANDS = "read_commands"
    MAINTAIN_HOUSEHOLDS = "maintain_households"  # tags, moving in and out: within grids
    WRITE_RESIDENT_DETAILS = "write_resident_details"  # contact and health: audited
    MANAGE_STAFF = "manage_staff"
    READ_REGISTRY_CHANGES = "read_registry_changes"  # grid workers: their compounds
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    # Elderly residents' vital signs, falls and room-level activity: audited.
    READ_HEALTH = "read_health"
    PROVISION_DEVICES = "provision_devices"  # register and retire devices, their accounts
    # Announcements to residents, and recording that a household read one: within grids.
    PUBLISH_ANNOUNCEMENTS = "publish_announcements"
    # Convening a resident deliberation, recording parties' voices, closing the vote and
    # publishing the decision: the residents' committee's work (admins and grid workers,
    # within grids), not the property company's, which is often a party to the matter.
    RUN_DELIBERATIONS = "run_deliberations"
    # Residents' cars and visitors' pre-registrations (plates: personal data).
    MANAGE_VEHICLES = "manage_vehicles"
    SET_TARIFFS = "set_tariffs"  # what parking costs in a compound
    # Care programmes' plans, visits, follow-ups and meals, read and recorded: within grids.
    CARE_PROGRAMMES = "care_programmes"
    # Organisations and the compounds they serve: administrators read them, and the
    # platform's administrators change them (the route checks the organisation).
    MANAGE_ORGANISATIONS = "manage_organisations"
    # Compounds' records, buildings with their units and flats, grids: administrators of
    # an organisation serving the compound (a new compound: the platform's).
    MAINTAIN_STRUCTURE = "maintain_structure"
    # An upper rung (a residents' committee, a subdistrict office) taking a case on for
    # its own party: their supervisors, and their organisation's administrators.
    TAKE_OVER_CASES = "take_over_cases"


ROLES: dict[Permission, frozenset[StaffRole]] = {
    Permission.READ: EVERYONE,
    Permission.READ_RESIDENTS: frozenset({ADMIN, GRID, CARE}),
    Permission.READ_RESIDENT_DETAILS: frozenset({ADMIN, CARE}),
    Permission.READ_ACCESS_EVENTS: frozenset({ADMIN, PROPERTY}),
    Permission.READ_DEAD_LETTERS: frozenset({ADMIN, PROPERTY}),
    Permission.WORK_CASES: frozenset({ADMIN, PROPERTY, GRID, CARE, SUPERVISOR}),
    Permission.COMMAND_LIGHT: frozenset({ADMIN, PROPERTY}),
    Permission.COMMAND_BARRIER: frozenset({ADMIN, PROPERTY}),
    Permission.COMMAND_GATE: frozenset({ADMIN, PROPERTY}),
    Permission.READ_COMMANDS: frozenset({ADMIN, PROPERTY}),
    Permission.MAINTAIN_HOUSEHOLDS: frozenset({ADMIN, GRID}),
    Permission.WRITE_RESIDENT_DETAILS: frozenset({ADMIN, CARE}),
    Permission.PROVISION_DEVICES: frozenset({ADMIN}),
    Permission.MANAGE_STAFF: frozenset({ADMIN}),
    Permission.READ_REGISTRY_CHANGES: frozenset({ADMIN, GRID}),
    Permission.MANAGE_USERS: frozenset({ADMIN}),
    Permission.READ_AUDIT: frozenset({ADMIN}),
    Permission.READ_HEALTH: frozenset({ADMIN, CARE}),
    Permission.PUBLISH_ANNOUNCEMENTS: frozenset({ADMIN, PROPERTY, GRID}),
    Permission.RUN_DELIBERATIONS: frozenset({ADMIN, GRID}),
    Permission.MANAGE_VEHICLES: frozenset({ADMIN, PROPERTY}),
    Permission.SET_TARIFFS: frozenset({ADMIN}),
    Permission.CARE_PROGRAMMES: frozenset({ADMIN, PROPERTY, GRID, CARE}),
    Permission.MANAGE_ORGANISATIONS: frozenset({ADMIN}),
    Permission.MAINTAIN_STRUCTURE: frozenset({ADMIN}),
    Permission.TAKE_OVER_CASES: frozenset({ADMIN, SUPERVISOR}),
}

COMMAND_PERMISSION = {
    "light": Permission.COMMAND_LIGHT,
    "barrier": Permission.COMMAND_BARRIER,
    "gate": Permission.COMMAND_GATE,
}


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: StaffRole
    # The (compound, grid) pairs of the user's grids: grid ids repeat across compounds.
    grids: frozenset[registry.GridKey] = frozenset()
    # "compound/building" keys of the buildings in the user's grids (grid workers only).
    buildings: frozenset[str] = frozenset()
    staff_id: str | None = None  # the registry staff member the account is, if any
    organisation: str = registry.PLATFORM  # every account belongs to one
    # The compounds the organisation serves (with those under it); None: every compound.
    within: frozenset[str] | None = None

    def may(self, permission: Permission) -> bool:
        return self.role in ROLES[permission]

    @property
    def grid_bound(self) -> bool:
        return self.role is GRID

    @property
    def elderly_only(self) -> bool:
        return self.role is CARE

    @property
    def reads_health(self) -> bool:
        return self.may(Permission.READ_HEALTH)

    @property
    def grid_keys(self) -> list[str]:
        """The user's grids as "compound/grid" strings, as `api_users.grids` stores them."""
        return sorted(f"{c}/{g}" for c, g in self.grids)

    @property
    def scope(self) -> registry.Scope:
        """What this user sees, as every package's scoped reads take it."""
        if not self.grid_bound:
            return registry.Scope(elderly_only=self.elderly_only, within=self.within)
        return registry.Scope(
            buildings=self.buildings,
            grids=self.grids,
            elderly_only=self.elderly_only,
            within=self.within,
        )

    @property
    def platform(self) -> bool:
        """Whether the account is the platform operator's (sees and may manage every
        organisation; its admins are the platform administrators)."""
        return self.organisation == registry.PLATFORM

    def sees_building(self, compound: str, address: str | None) -> bool:
        return self.scope.sees_building(compound, address)

    def sees_grid(self, compound: str, grid: str | None) -> bool:
        return self.scope.sees_grid(compound, grid)

    def sees_compound(self, compound: str) -> bool:
        """A grid worker sees the compounds their grids lie in; the other roles all those
        of their organisation."""
        return self.scope.sees_compound(compound)
