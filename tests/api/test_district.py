"""`GET /district`: four compounds whose cases stand differently ten minutes after they
were opened, listed worst SLA first with their counts, and a grid worker who sees only
their grid's compound and cases.

    c1  critical, not acknowledged (5 min to acknowledge: overdue)
        minor, not acknowledged (1 h: due in 50 min)
    c3  minor, not acknowledged (due in 50 min)
    c2  critical, acknowledged (2 h to resolve: due in 1 h 50)
        minor, closed on time
    c4  no case
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import registry
from domain import Compound, CompoundFile
from tests.api.conftest import Conn, FakeClock, full_registry

H = dict[str, dict[str, str]]
PLACES = {"c2": (30.29, 120.19), "c3": (30.25, 120.21), "c4": (30.31, 120.12)}


def district_file() -> CompoundFile:
    """The test compound c1 and three more of its layout elsewhere (no devices or
    residents: those are unique across compounds)."""
    [c1] = full_registry().compounds
    others: list[Compound] = [
        c1.model_copy(
            update={"id": cid, "name": f"Compound {cid}", "lat": lat, "lon": lon}
            | {"devices": [], "households": []}
        )
        for cid, (lat, lon) in PLACES.items()
    ]
    return CompoundFile(compounds=[c1, *others])


@pytest.fixture
def district(conn: Conn) -> None:
    registry.load(conn, district_file(), actor="test:setup", now=datetime.now(UTC))


def _report(
    client: httpx.Client, admin: dict[str, str], compound: str, severity: str, location: str
) -> dict[str, Any]:
    body = {
        "compound": compound,
        "category": "noise",
        "description": "loud at night",
        "reporter": "r-1",
        "location": location,
        "severity": severity,
    }
    made = client.post("/api/v1/cases", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _act(
    client: httpx.Client, admin: dict[str, str], case: dict[str, Any], action: str, **extra: Any
) -> dict[str, Any]:
    done = client.post(
        f"/api/v1/cases/{case['id']}/{action}",
        json={"version": case["version"], **extra},
        headers=admin,
    )
    assert done.status_code == 200, done.text
    return dict(done.json())


@pytest.fixture
def opened(
    district: None, client: httpx.Client, headers: H, clock: FakeClock
) -> dict[str, dict[str, Any]]:
    admin = headers["admin"]
    cases = {
        "c1-critical": _report(client, admin, "c1", "critical", "3-2-301"),
        "c1-minor": _report(client, admin, "c1", "minor", "1-1-101"),
        "c2-critical": _report(client, admin, "c2", "critical", "3-2-301"),
        "c2-minor": _report(client, admin, "c2", "minor", "1-1-101"),
        "c3-minor": _report(client, admin, "c3", "minor", "3-2-301"),
    }
    _act(client, admin, cases["c2-critical"], "acknowledge")
    done = _act(client, admin, cases["c2-minor"], "acknowledge")
    done = _act(client, admin, done, "start")
    done = _act(client, admin, done, "resolve", note="spoke to the neighbours")
    _act(client, admin, done, "close")
    clock.advance(minutes=10)
    return cases


def _district(client: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/v1/district", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    found: list[dict[str, Any]] = body["data"]
    return found


def test_the_compounds_come_worst_sla_first_with_their_counts(
    client: httpx.Client, headers: H, opened: dict[str, dict[str, Any]]
) -> None:
    rows = _district(client, headers["viewer"])
    assert [r["compound"] for r in rows] == ["c1", "c3", "c2", "c4"]
    by_id = {r["compound"]: r for r in rows}
    counts = ("open", "critical", "overdue", "critical_overdue", "due_soon", "sla")
    assert {c: tuple(by_id[c][k] for k in counts) for c in by_id} == {
        "c1": (2, 1, 1, 1, 1, "overdue"),
        "c3": (1, 0, 0, 0, 1, "due_soon"),
        "c2": (1, 1, 0, 0, 0, "on_time"),
        "c4": (0, 0, 0, 0, 0, "clear"),
    }
    # c1's nearest deadline is the critical case's acknowledgement, passed; c3's its
    # minor case's, in 50 minutes; c2's the acknowledged critical case's resolution.
    assert _same_instant(by_id["c1"]["next_due"], opened["c1-critical"]["ack_due"])
    assert _same_instant(by_id["c3"]["next_due"], opened["c3-minor"]["ack_due"])
    assert _same_instant(by_id["c2"]["next_due"], opened["c2-critical"]["resolve_due"])
    assert by_id["c4"]["next_due"] is None
    assert (by_id["c2"]["due"], by_id["c2"]["closed_on_time"]) == (2, 1)
    assert by_id["c2"]["on_time_rate"] == 0.5
    assert by_id["c1"]["on_time_rate"] == 0.0  # two due, none closed yet
    assert by_id["c4"]["on_time_rate"] is None
    assert (by_id["c3"]["lat"], by_id["c3"]["lon"]) == PLACES["c3"]
    assert by_id["c3"]["name"] == "Compound c3"


def test_a_grid_worker_sees_only_their_grids_compound_and_cases(
    client: httpx.Client, headers: H, opened: dict[str, dict[str, Any]]
) -> None:
    # Their grid is c1's g2 (building 3): c1's critical case, not its minor one in g1,
    # and not c2's or c3's g2, which are other grids of the same name.
    [row] = _district(client, headers["grid_worker"])
    assert row["compound"] == "c1"
    assert (row["open"], row["critical"], row["overdue"], row["due_soon"]) == (1, 1, 1, 0)


def test_a_care_responder_counts_only_the_cases_sent_to_the_care_centre(
    client: httpx.Client, headers: H, opened: dict[str, dict[str, Any]]
) -> None:
    rows = _district(client, headers["care_responder"])
    assert {r["compound"] for r in rows} == {"c1", "c2", "c3", "c4"}  # every compound
    assert all(r["open"] == 0 and r["sla"] == "clear" for r in rows)  # noise: not theirs


def _same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)
