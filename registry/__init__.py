"""The registry, "one standard address, three actuals" (一标三实): compounds, buildings,
units and flats, households with their seven-colour tags, residents, parties, grids and
their teams, staff, and devices. It owns their tables (`registry/migrations`), the one
reader of compound files, loading a file as a diff logged in `registry_changes`, the
small maintenance the API offers, and every read other packages make of it: the
gateway's device references, the rules' compounds, dispatch's lookups, the API's lists
under a reader's `Scope`, and who is on duty or in quiet hours when (`on_duty`,
`quiet_until`). Residents' contact and health details are read only through
`read_resident_details`, which enforces the roles and records each read.
"""

from registry._contacts import ContactPoints, contact_points, set_staff_contacts
from registry._db import Conn
from registry._duty import (
    on_call,
    on_duty,
    quiet_until,
    roster,
)
from registry._errors import (
    AccessDenied,
    AlreadyRegistered,
    CompoundFileError,
    NotRegistered,
    RegistryError,
    RegistryLoadError,
    RegistryUnavailable,
    ValueRefused,
)
from registry._files import read_compound_file, write_compound_file
from registry._load import load
from registry._maintain import (
    move_in,
    move_out,
    put_staff,
    read_resident_details,
    registry_changes,
    set_household_tags,
    set_resident_details,
)
from registry._reads import (
    DeviceRef,
    DeviceRow,
    Page,
    building_page,
    buildings_of,
    compound_ids,
    compound_page,
    compounds,
    device_address,
    device_refs,
    devices,
    flat_page,
    grid_member,
    grid_of,
    grid_page,
    grid_team,
    household_page,
    party,
    party_of_kind,
    party_page,
    party_staff,
    resident,
    resident_page,
    staff_contacts,
    staff_grids,
    staff_member,
    staff_page,
)
from registry._scope import EVERYTHING, GridKey, Scope
from registry._tables import (
    PERSONAL_DATA_ROLES,
    RegistryChange,
    RegistryLoad,
    ResidentDetails,
)

__all__ = [
    "EVERYTHING",
    "PERSONAL_DATA_ROLES",
    "AccessDenied",
    "AlreadyRegistered",
    "CompoundFileError",
    "Conn",
    "ContactPoints",
    "DeviceRef",
    "DeviceRow",
    "GridKey",
    "NotRegistered",
    "Page",
    "RegistryChange",
    "RegistryError",
    "RegistryLoad",
    "RegistryLoadError",
    "RegistryUnavailable",
    "ResidentDetails",
    "Scope",
    "ValueRefused",
    "building_page",
    "buildings_of",
    "compound_ids",
    "compound_page",
    "compounds",
    "contact_points",
    "device_address",
    "device_refs",
    "devices",
    "flat_page",
    "grid_member",
    "grid_of",
    "grid_page",
    "grid_team",
    "household_page",
    "load",
    "move_in",
    "move_out",
    "on_call",
    "on_duty",
    "party",
    "party_of_kind",
    "party_page",
    "party_staff",
    "put_staff",
    "quiet_until",
    "read_compound_file",
    "read_resident_details",
    "registry_changes",
    "resident",
    "resident_page",
    "roster",
    "set_household_tags",
    "set_resident_details",
    "set_staff_contacts",
    "staff_contacts",
    "staff_grids",
    "staff_member",
    "staff_page",
    "write_compound_file",
]
