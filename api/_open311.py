"""Open311 GeoReport v2's data: client applications and their API keys, the services
(the policy's report categories open to the public), and the mapping of a case onto a
service request (the README's "Open311" table).

A client's key is 32 random bytes, shown once when an administrator creates the
client; only its SHA-256 is stored (a fast hash suffices for a high-entropy secret,
and lets the key be looked up). A request's service_request_id is the id of the case
it opened; what the request carried beyond the case (lat/long, the address as given,
a media URL) is kept in `open311_requests`. Only requests made through Open311 are
listed here: device alarms and residents' own cases are not a city platform's to read.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cases
from api._db import Conn, row, rows

KEY_BYTES = 32
# Requests one client may submit per hour: a city platform forwards its users' reports (a
# busy district's few hundred a day), a runaway loop or a leaked key is stopped here.
POSTS_PER_HOUR = 300


@dataclass(frozen=True, slots=True)
class Service:
    code: str  # the case category
    name: str
    description: str
    group: str
    keywords: tuple[str, ...]


# What a city platform shows its users for each report category (cases.REPORT_CATEGORIES).
SERVICES: dict[str, Service] = {
    s.code: s
    for s in (
        Service(
            "repair",
            "Repair of a shared facility",
            "A broken stairwell light, pipe, door or other shared facility of the compound",
            "facilities",
            ("light", "pipe", "door", "lift", "维修"),
        ),
        Service(
            "environment",
            "Rubbish, sanitation, greening",
            "Rubbish not collected, dirty stairwells, greening to tend",
            "environment",
            ("rubbish", "sanitation", "green", "环境"),
        ),
        Service(
            "parking",
            "Parking",
            "A car blocking a passage or fire lane, a barrier or parking space problem",
            "traffic",
            ("car", "barrier", "停车"),
        ),
        Service("noise", "Noise", "Noise from a flat, a shop or works", "neighbourhood", ("噪音",)),
        Service(
            "neighbour_dispute",
            "Dispute between neighbours",
            "A dispute the grid team and the residents' committee can mediate",
            "neighbourhood",
            ("dispute", "邻里"),
        ),
        Service(
            "security",
            "Safety and security",
            "A broken gate or lock, a safety hazard (not an emergency: call 110)",
            "safety",
            ("gate", "hazard", "安全"),
        ),
        Service(
            "elderly_care",
            "Help for an elderly resident",
            "An elderly resident who needs a visit or help (not an emergency: call 120)",
            "care",
            ("elderly", "养老"),
        ),
        Service(
            "public_affairs",
            "A matter for the residents' deliberation",
            "A matter too big for one party: a lift, a parking plan (民主议事厅)",
            "community",
            ("deliberation", "议事"),
        ),
    )
}
assert set(SERVICES) == set(cases.REPORT_CATEGORIES), "a report category lacks its service"

# Who takes a case, as the service request's agency_responsible.
AGENCIES = {
    "property_company": "property company",
    "grid_team": "grid team",
    "elderly_care_centre": "elderly-care centre",
    "owners_committee": "owners' committee",
    "residents_committee": "residents' committee",
    "community_police": "community police",
}

# status_notes: each case state in plain words.
STATUS_NOTES = {
    cases.State.NEW: "received",
    cases.State.DISPATCHED: "sent to the party responsible, waiting for it to acknowledge",
    cases.State.ACKNOWLEDGED: "acknowledged by the party responsible",
    cases.State.IN_PROGRESS: "being handled",
    cases.State.RESOLVED: "resolved",
    cases.State.CLOSED: "closed",
    cases.State.REOPENED: "reopened",
    cases.State.CANCELLED: "cancelled",
    cases.State.MERGED: "a duplicate, merged into another request",
}


@dataclass(frozen=True, slots=True)
class Client:
    id: int
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


def _hash(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def create_client(conn: Conn, name: str, *, actor: str, now: datetime) -> tuple[Client, str] | None:
    """A new client and its key (shown once), or None when the name is taken."""
    key = secrets.token_urlsafe(KEY_BYTES)
    found = row(
        conn,
        "INSERT INTO open311_clients (name, key_hash, created_by, created_at)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING"
        " RETURNING id, name, created_by, created_at, revoked_at",
        (name, _hash(key), actor, now),
    )
    return None if found is None else (Client(**found), key)


def clients(conn: Conn) -> list[Client]:
    return [
        Client(**r)
        for r in rows(
            conn,
            "SELECT id, name, created_by, created_at, revoked_at FROM open311_clients ORDER BY id",
        )
    ]


def revoke_client(conn: Conn, client_id: int, *, now: datetime) -> Client | None:
    found = row(
        conn,
        "UPDATE open311_clients SET revoked_at = coalesce(revoked_at, %s) WHERE id = %s"
        " RETURNING id, name, created_by, created_at, revoked_at",
        (now, client_id),
    )
    return None if found is None else Client(**found)


def client_of(conn: Conn, key: str) -> Client | None:
    """The active client whose key this is."""
    found = row(
        conn,
        "SELECT id, name, created_by, created_at, revoked_at FROM open311_clients"
        " WHERE key_hash = %s AND revoked_at IS NULL",
        (_hash(key),),
    )
    return None if found is None else Client(**found)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a request carried beyond its case."""

    lat: float | None
    long: float | None
    address_string: str | None
    address_id: str | None
    media_url: str | None


def record_request(
    conn: Conn,
    case_id: int,
    client: Client,
    compound: str,
    service_code: str,
    submitted: Submitted,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO open311_requests (case_id, client_id, compound_id, service_code, lat,"
        " long, address_string, address_id, media_url, requested_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            case_id,
            client.id,
            compound,
            service_code,
            submitted.lat,
            submitted.long,
            submitted.address_string,
            submitted.address_id,
            submitted.media_url,
            now,
        ),
    )


def requested(
    conn: Conn,
    compound: str,
    *,
    ids: list[int] | None,
    codes: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The Open311 requests of a compound, newest first: by id (then nothing else
    narrows them, as the specification says), or by service code and time."""
    if ids is not None:
        return rows(
            conn,
            "SELECT * FROM open311_requests WHERE compound_id = %s AND case_id = ANY(%s)"
            " ORDER BY case_id DESC LIMIT %s",
            (compound, ids, limit),
        )
    return rows(
        conn,
        "SELECT * FROM open311_requests WHERE compound_id = %(c)s"
        " AND (%(codes)s::text[] IS NULL OR service_code = ANY(%(codes)s))"
        " AND (%(start)s::timestamptz IS NULL OR requested_at >= %(start)s)"
        " AND (%(end)s::timestamptz IS NULL OR requested_at <= %(end)s)"
        " ORDER BY case_id DESC LIMIT %(limit)s",
        {"c": compound, "codes": codes, "start": start, "end": end, "limit": limit},
    )


def posted_since(conn: Conn, client: Client, since: datetime) -> int:
    found = row(
        conn,
        "SELECT count(*) AS n FROM open311_requests WHERE client_id = %s AND requested_at >= %s",
        (client.id, since),
    )
    return int(found["n"]) if found else 0
