"""The registry's exceptions, one tree, each carrying the data a caller needs.

RegistryError
├── CompoundFileError     a compound file that cannot be read, parsed or written (path, detail)
├── RegistryLoadError     a compound file that does not fit the registry (compound, detail)
├── NotRegistered         the compound has no such flat, party, grid... (field, reason)
├── AlreadyRegistered     the resident lives at a flat already (compound, ref, flat)
├── PlateTaken            a plate is registered already to a household (compound, plate, flat)
├── DeviceTaken           a device id is registered already, in some compound (device, compound)
├── AccessDenied          a role may not read or write personal data (actor, role, what)
├── ValueRefused          the database refused a value (psycopg's error is the __cause__)
└── RegistryUnavailable   the database failed or is unreachable: retry later
"""

from __future__ import annotations

from pathlib import Path


class RegistryError(Exception):
    """Base of every error raised by `registry`."""


class CompoundFileError(RegistryError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"compound file {str(path)!r}: {detail}")
        self.path = path
        self.detail = detail


class RegistryLoadError(RegistryError):
    def __init__(self, compound: str, detail: str) -> None:
        super().__init__(f"compound {compound!r}: {detail}")
        self.compound = compound
        self.detail = detail


class NotRegistered(RegistryError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class AlreadyRegistered(RegistryError):
    def __init__(self, compound: str, ref: str, flat: str) -> None:
        super().__init__(
            f"resident {ref} is already registered at {flat} in compound {compound};"
            " move them out first"
        )
        self.compound = compound
        self.ref = ref
        self.flat = flat


class PlateTaken(RegistryError):
    def __init__(self, compound: str, plate: str, flat: str) -> None:
        super().__init__(
            f"vehicle {plate} is registered already to household {flat} in compound {compound};"
            " remove it there first"
        )
        self.compound = compound
        self.plate = plate
        self.flat = flat


class DeviceTaken(RegistryError):
    def __init__(self, device: str, compound: str) -> None:
        super().__init__(f"device {device} is registered already (compound {compound})")
        self.device = device
        self.compound = compound


class AccessDenied(RegistryError):
    def __init__(self, actor: str, role: str, what: str) -> None:
        super().__init__(f"{actor} ({role}) may not read {what}")
        self.actor = actor
        self.role = role
        self.what = what


class ValueRefused(RegistryError):
    """A value PostgreSQL cannot take (a NUL byte, a string too long for its column)."""


class RegistryUnavailable(RegistryError):
    """The database failed or is unreachable; the psycopg error is the `__cause__`."""
