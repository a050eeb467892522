"""Every role x every route: who gets in (anything but 401/403) and who is refused (403).

The expected roles are written out here, not read from api._access, so that a change to
the permission table shows up as a failing test to be read and agreed with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import ROLES

ALL = set(ROLES)
OPERATORS = {"admin", "property_staff"}
WORKERS = {"admin", "property_staff", "grid_worker", "care_responder"}
# Case work: the workers and the upper rungs' supervisors (a committee's, an office's).
CASE_WORKERS = WORKERS | {"supervisor"}
# Taking a case over for one's organisation's party: supervisors and administrators.
TAKERS = {"admin", "supervisor"}
CASE = {"version": 1, "note": "n"}
MAINTAINERS = {"admin", "grid_worker"}
CARERS = {"admin", "care_responder"}
# In building 3, grid g2: the grid worker's (tests.api.conftest).
NEWCOMER = {"compound": "c1", "ref": "r-new", "flat": "3-1-101", "birth_year": 1950}

PUBLISHERS = {"admin", "property_staff", "grid_worker"}
# Current, and in building 3 (the grid worker's): every publisher's own gets past the grids.
NOTICE = {
    "compound": "c1",
    "title": "Lift under repair",
    "body": "Building 3's lift is stopped until Friday.",
    "starts_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    "ends_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    "buildings": ["3"],
}
# Deliberations: a matter of building 3 (the grid worker's), walked through its life.
RUNNERS = {"admin", "grid_worker"}
MATTER = {
    "compound": "c1",
    "title": "A lift for building 3",
    "description": "Install a lift.",
    "buildings": ["3"],
    "organisations_vote": True,
}
DELIBERATION = "/api/v1/deliberations/c1/1"

VISIT = {
    "compound": "c1",
    "plate": "沪AD12345",
    "valid_from": datetime.now(UTC).isoformat(),
    "valid_to": (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
}
TARIFF = {
    "free_minutes": 30,
    "hourly_fen": 500,
    "daily_cap_fen": 4000,
    "residents_exempt": True,
    "visitor_free_minutes": 120,
    "missed_read_fee_fen": 0,
}

# Building 3, the grid worker's: every carer's own gets past the grids.
CARE_PLAN = {
    "compound": "c1",
    "flat": "3-2-301",
    "tag": "elderly",
    "visitor": "p-care",
    "interval_days": 7,
}
MEALS = {
    "compound": "c1",
    "flat": "3-2-301",
    "meal": "lunch",
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "deliverer": "p-care",
}

# (method, path, body, roles allowed)
MATRIX: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/v1/users/me", None, ALL),
    ("GET", "/api/v1/users", None, {"admin"}),
    (
        "POST",
        "/api/v1/users",
        {"username": "x1", "password": "p" * 12, "role": "viewer"},
        {"admin"},
    ),
    ("PATCH", "/api/v1/users/u-viewer", {}, {"admin"}),
    ("GET", "/api/v1/organisations", None, ALL),
    ("GET", "/api/v1/organisations/platform", None, ALL),
    ("GET", "/api/v1/organisations/changes", None, {"admin"}),
    ("PUT", "/api/v1/organisations/o-x", {"name": "X", "kind": "property_company"}, {"admin"}),
    ("PUT", "/api/v1/organisations/o-x/compounds/c1", None, {"admin"}),
    ("DELETE", "/api/v1/organisations/o-x/compounds/c1", None, {"admin"}),
    ("GET", "/api/v1/devices", None, ALL),
    ("GET", "/api/v1/devices/sos-1", None, ALL),
    ("POST", "/api/v1/devices/light-1/commands", {"command": {"action": "on"}}, OPERATORS),
    ("POST", "/api/v1/devices/barrier-1/commands", {"command": {"action": "open"}}, OPERATORS),
    ("POST", "/api/v1/devices/gate-1/commands", {"command": {"action": "unlock"}}, OPERATORS),
    ("GET", "/api/v1/devices/light-1/commands", None, OPERATORS),
    # Provisioning, with requests that stop before the session's broker is touched: a
    # compound that does not exist (422), a device that does not (404).
    (
        "POST",
        "/api/v1/devices",
        {"compound": "nowhere", "device": {"id": "x-new", "kind": "light", "model": "led"}},
        {"admin"},
    ),
    ("DELETE", "/api/v1/devices/no-such-device", None, {"admin"}),
    ("GET", "/api/v1/devices/light-1/commands/abc", None, OPERATORS),
    (
        "GET",
        "/api/v1/telemetry?device=sos-1&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
        None,
        ALL,
    ),
    ("GET", "/api/v1/events", None, ALL),
    ("GET", "/api/v1/events/access", None, OPERATORS),
    ("GET", "/api/v1/alarms", None, ALL),
    ("GET", "/api/v1/alarms/1", None, ALL),
    ("GET", "/api/v1/cases", None, ALL),
    ("GET", "/api/v1/cases/categories", None, ALL),
    ("GET", "/api/v1/cases/1", None, ALL),
    (
        "POST",
        "/api/v1/cases",
        {
            "compound": "c1",
            "category": "noise",
            "description": "d",
            "reporter": "r-1",
            "location": "3-2-301",
        },
        CASE_WORKERS,
    ),
    *(
        ("POST", f"/api/v1/cases/1/{action}", body, CASE_WORKERS)
        for action, body in [
            ("acknowledge", {"version": 1}),
            ("start", {"version": 1}),
            ("record-action", {"version": 1, "mode": "home_visit", "note": "n"}),
            ("resolve", CASE),
            ("rate", {"version": 1, "rating": 3}),
            ("close", {"version": 1}),
            ("reopen", {"version": 1, "reason": "r"}),
            ("cancel", {"version": 1, "reason": "not_responsible", "note": "n"}),
            ("note", CASE),
            ("redispatch", {"version": 1, "parties": ["p-care"], "reason": "r"}),
            ("transfer", {"version": 1, "party": "p-care", "reason": "r"}),
            ("add-party", {"version": 1, "party": "p-care"}),
            ("assign", {"version": 1, "staff_id": "s-1"}),
            ("claim", {"version": 1}),
            ("merge", {"version": 1, "into": 2, "note": "n"}),
        ]
    ),
    ("POST", "/api/v1/cases/1/take-over", {"version": 1, "reason": "r"}, TAKERS),
    ("GET", "/api/v1/cases/1/notifications", None, ALL),
    ("GET", "/api/v1/compounds", None, ALL),
    ("GET", "/api/v1/compounds/c1", None, ALL),
    ("GET", "/api/v1/compounds/c1/plan", None, ALL),
    ("GET", "/api/v1/compounds/c1/plan/states", None, ALL),
    ("GET", "/api/v1/buildings", None, ALL),
    ("GET", "/api/v1/flats", None, ALL),
    ("GET", "/api/v1/households", None, ALL),
    ("GET", "/api/v1/residents", None, {"admin", "grid_worker", "care_responder"}),
    ("GET", "/api/v1/residents/c1/r-elder/details", None, {"admin", "care_responder"}),
    ("PATCH", "/api/v1/households/c1/3-2-301", {"tags": ["elderly"]}, MAINTAINERS),
    ("PUT", "/api/v1/residents/c1/r-elder/details", {"contact": "139"}, CARERS),
    ("POST", "/api/v1/residents", NEWCOMER, MAINTAINERS),
    ("DELETE", "/api/v1/residents/c1/r-new", None, MAINTAINERS),
    ("PUT", "/api/v1/staff/s-new", {"compound": "c1", "name": "N", "role": "viewer"}, {"admin"}),
    ("PUT", "/api/v1/compounds/c1", {"name": "C1", "lat": 30.0, "lon": 120.0}, {"admin"}),
    (
        "PUT",
        "/api/v1/compounds/c1/buildings/9",
        {"units": [{"id": "1", "flats": ["101"]}]},
        {"admin"},
    ),
    ("PUT", "/api/v1/compounds/c1/grids/g9", {"buildings": ["9"]}, {"admin"}),
    ("GET", "/api/v1/registry-changes?compound=c1", None, MAINTAINERS),
    ("GET", "/api/v1/grids", None, ALL),
    ("GET", "/api/v1/parties", None, ALL),
    ("GET", "/api/v1/staff", None, ALL),
    # Also a staff member for themselves: test_staff_contacts (these accounts are linked
    # to no staff member).
    ("GET", "/api/v1/staff/c1/s-care/contacts", None, {"admin"}),
    ("PUT", "/api/v1/staff/c1/s-care/contacts", {"contacts": []}, {"admin"}),
    ("GET", "/api/v1/staff/c1/s-care/quiet-hours", None, {"admin"}),
    ("PUT", "/api/v1/staff/c1/s-care/quiet-hours", {"quiet_hours": None}, {"admin"}),
    ("DELETE", "/api/v1/staff/c1/s-care/quiet-hours", None, {"admin"}),
    ("GET", "/api/v1/kpis", None, ALL),
    ("GET", "/api/v1/district", None, ALL),
    ("GET", "/api/v1/rules", None, ALL),
    ("GET", "/api/v1/exports/cases.csv", None, ALL),
    ("GET", "/api/v1/exports/cases.xlsx", None, ALL),
    ("GET", "/api/v1/exports/kpis.csv", None, ALL),
    ("GET", "/api/v1/exports/kpis.xlsx", None, ALL),
    ("GET", "/api/v1/reports/evaluation.pdf?compound=c1&month=2026-11", None, ALL),
    ("GET", "/api/v1/dead-letters", None, OPERATORS),
    ("GET", "/api/v1/audit", None, {"admin"}),
    ("GET", "/api/v1/announcements?compound=c1", None, ALL),
    ("POST", "/api/v1/announcements", NOTICE, PUBLISHERS),
    ("GET", "/api/v1/announcements/c1/households/3-2-301", None, ALL),
    ("POST", "/api/v1/announcements/c1/1/reads", {"flat": "3-2-301"}, PUBLISHERS),
    ("POST", "/api/v1/announcements/c1/1/withdraw", None, PUBLISHERS),
    ("GET", "/api/v1/care/plans?compound=c1", None, WORKERS),
    ("POST", "/api/v1/care/plans", CARE_PLAN, WORKERS),
    ("POST", "/api/v1/care/plans/c1/1/end", None, WORKERS),
    ("GET", "/api/v1/care/visits?compound=c1", None, WORKERS),
    ("POST", "/api/v1/care/visits", {"compound": "c1", "plan_id": 1, "outcome": "well"}, WORKERS),
    ("GET", "/api/v1/care/follow-ups?compound=c1", None, WORKERS),
    ("GET", "/api/v1/care/meals?compound=c1", None, WORKERS),
    ("POST", "/api/v1/care/meals", MEALS, WORKERS),
    ("GET", "/api/v1/care/deliveries?compound=c1", None, WORKERS),
    (
        "POST",
        "/api/v1/care/deliveries",
        {"compound": "c1", "schedule_id": 1, "done": True},
        WORKERS,
    ),
    ("GET", "/api/v1/care/kpis?compound=c1", None, ALL),
    ("GET", "/api/v1/open311/clients", None, {"admin"}),
    ("POST", "/api/v1/open311/clients", {"name": "city"}, {"admin"}),
    ("DELETE", "/api/v1/open311/clients/1", None, {"admin"}),
    ("GET", "/api/v1/residents/links?compound=c1", None, MAINTAINERS),
    ("POST", "/api/v1/residents/links/1", {"confirm": True}, MAINTAINERS),
    ("GET", "/api/v1/residents/reports/1", None, CASE_WORKERS),
    ("GET", "/api/v1/residents/reports/1/photos/1", None, ALL),
    ("GET", "/api/v1/deliberations?compound=c1", None, ALL),
    ("POST", "/api/v1/deliberations", MATTER, RUNNERS),
    ("GET", DELIBERATION, None, ALL),
    ("POST", f"{DELIBERATION}/participants", {"parties": ["p-rc"]}, RUNNERS),
    ("POST", f"{DELIBERATION}/open", None, RUNNERS),
    ("POST", f"{DELIBERATION}/opinions", {"party": "p-rc", "body": "Yes"}, RUNNERS),
    ("POST", f"{DELIBERATION}/voting", None, RUNNERS),
    ("POST", f"{DELIBERATION}/votes", {"party": "p-rc", "choice": "for"}, RUNNERS),
    ("POST", f"{DELIBERATION}/close", {"decision": "Installed."}, RUNNERS),
    ("POST", f"{DELIBERATION}/publish", None, RUNNERS),
    ("POST", f"{DELIBERATION}/archive", None, RUNNERS),
    ("PUT", f"{DELIBERATION}/cases/1", None, RUNNERS),
    ("GET", "/api/v1/parking/vehicles?compound=c1", None, OPERATORS),
    (
        "POST",
        "/api/v1/parking/vehicles",
        {"compound": "c1", "flat": "1-1-101", "plate": "浙A12345"},
        OPERATORS,
    ),
    ("DELETE", "/api/v1/parking/vehicles/c1/浙A99999", None, OPERATORS),
    ("GET", "/api/v1/parking/visitors?compound=c1", None, OPERATORS),
    ("POST", "/api/v1/parking/visitors", VISIT, OPERATORS),
    ("GET", "/api/v1/parking/stays?compound=c1", None, ALL),
    ("GET", "/api/v1/parking/stays?compound=c1&plate=A12", None, OPERATORS),
    (
        "GET",
        "/api/v1/parking/fees?compound=c1&from=2026-12-01T00:00:00%2B08:00"
        "&to=2026-12-02T00:00:00%2B08:00",
        None,
        ALL,
    ),
    ("GET", "/api/v1/parking/occupancy?compound=c1", None, ALL),
    ("GET", "/api/v1/parking/tariff?compound=c1", None, ALL),
    ("PUT", "/api/v1/parking/tariff?compound=c1", TARIFF, {"admin"}),
]
# The resident side's own routes take residents' tokens only, never staff tokens (a 401
# for every staff role): tests/residents walks them.
RESIDENT_ROUTES = ("/api/v1/residents/me", "/api/v1/residents/auth/")


def test_the_matrix_names_every_route(client: httpx.Client) -> None:
    """No route of the OpenAPI document escapes the matrix (SSE is in test_stream)."""
    spec = client.get("/openapi.json").json()
    templates = {
        (m.upper(), p) for p, ops in spec["paths"].items() for m in ops if p.startswith("/api/v1")
    }
    covered = {(m, _template(p)) for m, p, _, _ in MATRIX}
    uncovered = templates - covered - {("POST", "/api/v1/auth/token"), ("GET", "/api/v1/stream")}
    assert not {(m, p) for m, p in uncovered if not p.startswith(RESIDENT_ROUTES)}


def _template(path: str) -> str:
    path = path.split("?")[0]
    replacements = {
        "/api/v1/users/u-viewer": "/api/v1/users/{username}",
        "/api/v1/organisations/platform": "/api/v1/organisations/{organisation_id}",
        "/api/v1/organisations/o-x": "/api/v1/organisations/{organisation_id}",
        "/api/v1/organisations/o-x/compounds/c1": (
            "/api/v1/organisations/{organisation_id}/compounds/{compound_id}"
        ),
        "/api/v1/compounds/c1": "/api/v1/compounds/{compound_id}",
        "/api/v1/compounds/c1/buildings/9": (
            "/api/v1/compounds/{compound_id}/buildings/{building_id}"
        ),
        "/api/v1/compounds/c1/grids/g9": "/api/v1/compounds/{compound_id}/grids/{grid_id}",
        "/api/v1/compounds/c1/plan": "/api/v1/compounds/{compound_id}/plan",
        "/api/v1/compounds/c1/plan/states": "/api/v1/compounds/{compound_id}/plan/states",
        "/api/v1/alarms/1": "/api/v1/alarms/{alarm_id}",
        "/api/v1/residents/c1/r-elder/details": "/api/v1/residents/{compound_id}/{ref}/details",
        "/api/v1/households/c1/3-2-301": "/api/v1/households/{compound_id}/{flat}",
        "/api/v1/residents/c1/r-new": "/api/v1/residents/{compound_id}/{ref}",
        "/api/v1/staff/s-new": "/api/v1/staff/{staff_id}",
        "/api/v1/staff/c1/s-care/contacts": "/api/v1/staff/{compound_id}/{staff_id}/contacts",
        "/api/v1/staff/c1/s-care/quiet-hours": "/api/v1/staff/{compound_id}/{staff_id}/quiet-hours",
        "/api/v1/announcements/c1/households/3-2-301": (
            "/api/v1/announcements/{compound_id}/households/{flat}"
        ),
        "/api/v1/announcements/c1/1/reads": (
            "/api/v1/announcements/{compound_id}/{announcement_id}/reads"
        ),
        "/api/v1/announcements/c1/1/withdraw": (
            "/api/v1/announcements/{compound_id}/{announcement_id}/withdraw"
        ),
        "/api/v1/care/plans/c1/1/end": "/api/v1/care/plans/{compound_id}/{plan_id}/end",
        "/api/v1/open311/clients/1": "/api/v1/open311/clients/{client_id}",
        "/api/v1/parking/vehicles/c1/浙A99999": "/api/v1/parking/vehicles/{compound}/{plate}",
        "/api/v1/residents/links/1": "/api/v1/residents/links/{resident_id}",
        "/api/v1/residents/reports/1": "/api/v1/residents/reports/{case_id}",
        "/api/v1/cases/categories": "/api/v1/cases/categories",
        "/api/v1/residents/reports/1/photos/1": "/api/v1/residents/reports/{case_id}/photos/{n}",
    }
    if path in replacements:
        return replacements[path]
    parts = path.split("/")
    if len(parts) > 4 and parts[3] == "devices":
        parts[4] = "{device_id}"
        if len(parts) > 6:
            parts[6] = "{correlation_id}"
    if len(parts) > 4 and parts[3] == "cases":
        parts[4] = "{case_id}"
    if len(parts) > 5 and parts[3] == "deliberations":
        parts[4:6] = ["{compound_id}", "{matter_id}"]
        if len(parts) > 7:
            parts[7] = "{case_id}"
    return "/".join(parts)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_on_every_route(
    role: str, client: httpx.Client, headers: dict[str, dict[str, str]]
) -> None:
    """One test per role walks all routes (one app per role keeps the suite fast)."""
    wrong: list[str] = []
    for method, path, body, allowed in MATRIX:
        response = client.request(method, path, json=body, headers=headers[role])
        got_in = response.status_code not in (401, 403)
        if got_in != (role in allowed) or response.status_code >= 500:
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_no_token_is_401_everywhere(client: httpx.Client) -> None:
    for method, path, body, _ in MATRIX:
        response = client.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer"
