"""User accounts: lookup, creation, the first administrator.

A user linked to a registry staff member (`staff_id`) takes their grids from the
registry at every request, and stops being able to sign in or act once the registry no
longer lists them: moving a grid worker to another grid, or removing them, changes what
they see at once, without anyone remembering to edit their account too.

A password change advances the user's `token_epoch`, which every token carries: tokens
issued before it are refused. The last active administrator cannot be demoted or
disabled (`LastAdmin`), so that nobody is left to manage users."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import registry
from api._access import User
from api._db import Conn, row, rows
from api.security import hash_password, verify_password
from domain import StaffRole

log = logging.getLogger(__name__)

FIRST_ADMIN = "admin"
# Said at every start where it applies: a variable that silently does nothing is a trap.
ADMIN_PASSWORD_IGNORED = (
    f"DAYUAN_ADMIN_PASSWORD is not the password of {FIRST_ADMIN!r}: it only creates the"
    f" first administrator, and {FIRST_ADMIN!r} already exists; to change the password"
    f" run: dayuan users reset-password {FIRST_ADMIN}"
)
# What is stored of a user; a linked user's grids and whether they are active are then
# completed from the registry (`_linked`).
_COLUMNS = "username, role, grids, staff_id, staff_compound, active, created_at, organisation_id"


class LastAdmin(Exception):
    """The change would leave no active administrator."""

    def __init__(self, username: str) -> None:
        super().__init__(
            f"{username!r} is the last active administrator: make another user an active"
            " admin first"
        )
        self.username = username


def active_account(conn: Conn, username: str) -> tuple[User, int] | None:
    """The active user and their current token epoch, or None."""
    found = _active(
        conn,
        "SELECT role, grids, staff_id, staff_compound, active, token_epoch, organisation_id"
        " FROM api_users WHERE username = %s AND active",
        (username,),
    )
    if not found:
        return None
    account = found[0]
    organisation = str(account["organisation_id"])
    within = registry.served_compounds(conn, organisation)
    grids = frozenset(
        key
        for key in (grid_key(k) for k in account["grids"] if "/" in k)
        if within is None or key[0] in within
    )
    buildings: frozenset[str] = frozenset()
    role = StaffRole(account["role"])
    if role is StaffRole.GRID_WORKER and grids:
        buildings = registry.buildings_of(conn, grids)
    user = User(
        username,
        role,
        grids,
        buildings,
        staff_id=account["staff_id"],
        organisation=organisation,
        within=within,
    )
    return user, int(account["token_epoch"])


def _linked(conn: Conn, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """These users with a linked user's grids (as "compound/grid" keys) taken from their
    staff member in the registry, and active only while the registry lists the member
    (staff ids repeat across compounds: a member is the pair)."""
    members = {
        (str(r["staff_compound"]), str(r["staff_id"]))
        for r in found
        if r["staff_id"] is not None and r["staff_compound"] is not None
    }
    staff = registry.staff_grids_of(conn, members)
    for r in found:
        if r["staff_id"] is None:
            continue
        grids = staff.get((r["staff_compound"], r["staff_id"]))
        r["grids"] = [] if grids is None else [f"{r['staff_compound']}/{g}" for g in grids]
        r["active"] = bool(r["active"]) and grids is not None
    return found


def _active(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    """The users `query` finds (it selects the columns `_linked` reads) who are active."""
    return [r for r in _linked(conn, rows(conn, query, params)) if r["active"]]


def grid_key(text: str) -> tuple[str, str]:
    compound, _, grid = text.partition("/")
    return compound, grid


def managed_organisations(conn: Conn, admin: User) -> list[str] | None:
    """The organisations whose accounts (and their audit) `admin` manages: their own and
    those under it; None: all (the platform's administrators)."""
    if admin.platform:
        return None
    return [o.id for o in registry.organisations(conn, under=admin.organisation)]


def password_hash_of(conn: Conn, username: str) -> str | None:
    """The active user's argon2 hash, or None."""
    found = _active(
        conn,
        "SELECT password_hash, grids, staff_id, staff_compound, active FROM api_users"
        " WHERE username = %s AND active",
        (username,),
    )
    return str(found[0]["password_hash"]) if found else None


def list_users(
    conn: Conn, *, limit: int, offset: int, organisations: list[str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The users (of these organisations; None: of all), by name."""
    where = " WHERE %(orgs)s::text[] IS NULL OR organisation_id = ANY(%(orgs)s)"
    params = {"orgs": organisations, "limit": limit, "offset": offset}
    data = _linked(
        conn,
        rows(
            conn,
            f"SELECT {_COLUMNS} FROM api_users{where}"
            " ORDER BY username LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ),
    )
    total = row(conn, f"SELECT count(*) AS n FROM api_users{where}", params)
    return data, int(total["n"]) if total else 0


def get_user(conn: Conn, username: str) -> dict[str, Any] | None:
    return _one(
        conn, rows(conn, f"SELECT {_COLUMNS} FROM api_users WHERE username = %s", (username,))
    )


def _one(conn: Conn, found: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one user found (completed from the registry), or None."""
    return _linked(conn, found)[0] if found else None


def create_user(
    conn: Conn,
    *,
    username: str,
    password: str,
    role: StaffRole,
    grids: list[str],
    staff_id: str | None,
    created_by: str | None,
    now: datetime,
    staff_compound: str | None = None,
    organisation: str = registry.PLATFORM,
) -> dict[str, Any] | None:
    """The new user, or None when the name is taken. `grids` are "compound/grid" keys."""
    created = rows(
        conn,
        "INSERT INTO api_users (username, role, grids, staff_id, staff_compound, password_hash,"
        " created_at, created_by, organisation_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
        (
            username,
            role.value,
            grids,
            staff_id,
            staff_compound,
            hash_password(password),
            now,
            created_by,
            organisation,
        ),
    )
    return _one(conn, created)


def unknown_grids(conn: Conn, keys: list[str]) -> list[str]:
    """Of these "compound/grid" keys, those the registry has no grid for."""
    found = registry.existing_grids(conn, [grid_key(k) for k in keys])
    return sorted(set(keys) - {f"{c}/{g}" for c, g in found})


def update_user(conn: Conn, username: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    """The changed user, or None when there is none; `LastAdmin` when the change would
    demote or disable the last active administrator."""
    assignments = [f"{column} = %({column})s" for column in changes if column != "password"]
    if "password" in changes:
        changes["password_hash"] = hash_password(changes.pop("password"))
        assignments += ["password_hash = %(password_hash)s", "token_epoch = token_epoch + 1"]
    if "role" in changes:
        changes["role"] = StaffRole(changes["role"]).value
    if not assignments:
        return get_user(conn, username)
    with conn.transaction():
        if changes.get("role", "admin") != "admin" or changes.get("active", True) is False:
            _keep_an_admin(conn, username)
        updated = rows(
            conn,
            f"UPDATE api_users SET {', '.join(assignments)} WHERE username = %(username)s"
            f" RETURNING {_COLUMNS}",
            {**changes, "username": username},
        )
        return _one(conn, updated)


def _keep_an_admin(conn: Conn, username: str) -> None:
    # Locking the active admins serialises concurrent demotions: the second one waits,
    # then sees the first's result and is refused.
    # (those whose staff member left are locked too, and then not counted).
    # Per organisation: each keeps an administrator of its own.
    admins = _active(
        conn,
        "SELECT username, grids, staff_id, staff_compound, active FROM api_users"
        " WHERE role = 'admin' AND active AND organisation_id = (SELECT organisation_id"
        " FROM api_users WHERE username = %s) FOR UPDATE",
        (username,),
    )
    if [a["username"] for a in admins] == [username]:
        raise LastAdmin(username)


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    """What a start did about the first administrator, for its log and banner.

    `configured` says whether DAYUAN_ADMIN_PASSWORD (when given) is the administrator's
    password now: it creates the first administrator and is never applied to an existing
    one (a password changed through the API or `dayuan users reset-password` stays)."""

    created: bool
    generated: str | None = None  # created with this generated password (development)
    configured: bool | None = None  # None: no DAYUAN_ADMIN_PASSWORD given


def first_admin(conn: Conn, *, password: str | None, now: datetime) -> FirstAdmin:
    """Create the first administrator when there is none (with `password`, else a
    generated one); otherwise report whether `password` is still FIRST_ADMIN's."""
    if row(conn, "SELECT 1 AS one FROM api_users WHERE role = 'admin' AND active") is not None:
        if password is None:
            return FirstAdmin(created=False)
        return FirstAdmin(created=False, configured=is_password(conn, FIRST_ADMIN, password))
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(12)
    create_user(
        conn,
        username=FIRST_ADMIN,
        password=password,
        role=StaffRole.ADMIN,
        grids=[],
        staff_id=None,
        created_by=None,
        now=now,
    )
    log.info("created the first administrator %r", FIRST_ADMIN)
    return FirstAdmin(created=True, generated=generated, configured=None if generated else True)


def is_password(conn: Conn, username: str, password: str) -> bool:
    """Whether `password` is the active user's (argon2: takes a moment, by design)."""
    return verify_password(password, password_hash_of(conn, username))


def reset_password(conn: Conn, username: str, password: str) -> bool:
    """Set `username`'s password (revoking their tokens); False when there is no such user."""
    return update_user(conn, username, {"password": password}) is not None
