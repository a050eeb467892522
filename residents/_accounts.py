"""Resident accounts: created at the first right code, linked to a household of the
registry on request and trusted with it only once a grid worker or admin confirms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import registry
from domain import Language
from residents._codes import Phone
from residents._db import Conn, one, rows, transaction
from residents._errors import ReportRefused


@dataclass(frozen=True, slots=True)
class Household:
    compound: str
    flat: str  # the standard address building-unit-flat
    confirmed: bool
    confirmed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Resident:
    id: int
    phone: str
    language: Language
    epoch: int
    household: Household | None = None

    @property
    def ref(self) -> str:
        """The pseudonymous reporter reference a case carries (never the number)."""
        return f"res-{self.id}"

    @property
    def confirmed(self) -> Household | None:
        return self.household if self.household and self.household.confirmed else None


@dataclass(frozen=True, slots=True)
class PendingLink:
    resident_id: int
    phone: str
    compound: str
    flat: str
    requested_at: datetime
    confirmed_at: datetime | None


_SELECT = (
    "SELECT a.id, a.phone, a.language, a.token_epoch, h.compound_id, h.flat, h.confirmed_at,"
    " h.confirmed_by FROM resident_accounts a"
    " LEFT JOIN resident_households h ON h.resident_id = a.id"
)


def _resident(r: dict[str, Any]) -> Resident:
    household = None
    if r["compound_id"] is not None:
        household = Household(
            r["compound_id"], r["flat"], r["confirmed_at"] is not None, r["confirmed_by"]
        )
    return Resident(
        int(r["id"]), r["phone"], Language(r["language"]), int(r["token_epoch"]), household
    )


def signed_in(conn: Conn, phone: Phone, now: datetime) -> Resident:
    """The account of a number whose code was just accepted, created at its first sign-in."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO resident_accounts (phone, created_at, last_seen_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (phone) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            (phone.number, now, now),
        )
        found = one(conn, _SELECT + " WHERE a.phone = %s", (phone.number,))
    assert found is not None
    return _resident(found)


def get_resident(conn: Conn, resident_id: int) -> Resident | None:
    with transaction(conn):
        found = one(conn, _SELECT + " WHERE a.id = %s", (resident_id,))
    return None if found is None else _resident(found)


def confirmed_residents(conn: Conn, compound: str, flat: str) -> list[Resident]:
    """The residents confirmed as living in the household, oldest account first: whom
    an announcement to the household reaches through their own channel."""
    with transaction(conn):
        found = rows(
            conn,
            _SELECT + " WHERE h.compound_id = %s AND h.flat = %s AND h.confirmed_at IS NOT NULL"
            " ORDER BY a.id",
            (compound, flat),
        )
    return [_resident(r) for r in found]


def set_language(conn: Conn, resident_id: int, language: Language) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE resident_accounts SET language = %s WHERE id = %s",
            (language.value, resident_id),
        )


def sign_out_everywhere(conn: Conn, resident_id: int) -> None:
    """End every sign-in of the account (a lost phone): its tokens carry the old epoch."""
    with transaction(conn):
        conn.execute(
            "UPDATE resident_accounts SET token_epoch = token_epoch + 1 WHERE id = %s",
            (resident_id,),
        )


def request_household(
    conn: Conn, resident: Resident, compound: str, flat: str, now: datetime
) -> Resident:
    """Ask to be linked to a flat (a new request replaces the old, unconfirmed again)."""
    with transaction(conn):
        if not registry.has_household(conn, compound, flat):
            raise ReportRefused("flat", f"{compound} has no household at {flat}")
        conn.execute(
            "INSERT INTO resident_households (resident_id, compound_id, flat, requested_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (resident_id) DO UPDATE SET"
            " compound_id = excluded.compound_id, flat = excluded.flat,"
            " requested_at = excluded.requested_at, confirmed_at = NULL, confirmed_by = NULL",
            (resident.id, compound, flat, now),
        )
    found = get_resident(conn, resident.id)
    assert found is not None
    return found


def links(conn: Conn, compound: str, *, pending_only: bool) -> list[PendingLink]:
    """The household links of a compound's residents (only the unconfirmed ones)."""
    with transaction(conn):
        found = rows(
            conn,
            "SELECT h.resident_id, a.phone, h.compound_id, h.flat, h.requested_at, h.confirmed_at"
            " FROM resident_households h JOIN resident_accounts a ON a.id = h.resident_id"
            " WHERE h.compound_id = %s"
            + (" AND h.confirmed_at IS NULL" if pending_only else "")
            + " ORDER BY h.requested_at",
            (compound,),
        )
    return [
        PendingLink(
            int(r["resident_id"]),
            r["phone"],
            r["compound_id"],
            r["flat"],
            r["requested_at"],
            r["confirmed_at"],
        )
        for r in found
    ]


def link_of(conn: Conn, resident_id: int) -> PendingLink | None:
    with transaction(conn):
        r = one(
            conn,
            "SELECT h.resident_id, a.phone, h.compound_id, h.flat, h.requested_at, h.confirmed_at"
            " FROM resident_households h JOIN resident_accounts a ON a.id = h.resident_id"
            " WHERE h.resident_id = %s",
            (resident_id,),
        )
    if r is None:
        return None
    return PendingLink(
        int(r["resident_id"]),
        r["phone"],
        r["compound_id"],
        r["flat"],
        r["requested_at"],
        r["confirmed_at"],
    )


def decide_link(conn: Conn, resident_id: int, *, confirm: bool, by: str, now: datetime) -> None:
    """Confirm a resident's household link, or refuse it (the request is dropped)."""
    with transaction(conn):
        if confirm:
            conn.execute(
                "UPDATE resident_households SET confirmed_at = %s, confirmed_by = %s"
                " WHERE resident_id = %s",
                (now, by, resident_id),
            )
        else:
            conn.execute("DELETE FROM resident_households WHERE resident_id = %s", (resident_id,))
