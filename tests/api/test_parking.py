"""Parking through the API on the real app: property staff register a household's car
and a visitor (bad plates and windows refused with the reason), the lifespan's sweep
pairs the barrier's plate reads into stays with their fees, occupancy stands beside the
barrier's own count, an administrator sets the tariff; plates reach admins and property
staff only (each read audited), never viewers, grid workers or care responders."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from api import create_app
from tests.api import data
from tests.api.conftest import FakeClock, config_for
from tests.factories import BARRIER
from tests.fix_mqtt import Broker

V1 = "/api/v1/parking"
H = dict[str, dict[str, str]]
RESIDENT, STRANGER, VISITOR = "浙A12345", "苏E54321", "沪AD12345"
WAIT_S = 20.0
_seq = iter(range(1, 10**6))


@pytest.fixture
def app(api_db: str, broker: Broker, clock: FakeClock) -> FastAPI:
    # The sweep looks every 0.2 s: the tests wait on the stays, never on a duration.
    return create_app(config_for(api_db, broker, parking_sweep_s=0.2), clock=clock)


def _reads(db_url: str, *reads: tuple[datetime, str, str]) -> None:
    topic = f"dayuan/v1/c1/barrier/{BARRIER}/event"
    data.store(
        db_url,
        *(
            (
                topic,
                {
                    "ts": int(at.timestamp() * 1000),
                    "seq": next(_seq),
                    "type": "plate",
                    "plate": plate,
                    "direction": way,
                    "confidence": 0.97,
                },
            )
            for at, plate, way in reads
        ),
    )


def _stays(client: httpx.Client, h: dict[str, str], want: int, **query: Any) -> list[Any]:
    """The stays once the lifespan's sweep has paired `want` of them (the clock moved past
    the reads' settling time)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        got = client.get(f"{V1}/stays", params={"compound": "c1", **query}, headers=h)
        assert got.status_code == 200, got.text
        if got.json()["count"] >= want or time.monotonic() > deadline:
            return list(got.json()["data"])
        time.sleep(0.2)


def test_vehicles_are_registered_listed_and_removed(client: httpx.Client, headers: H) -> None:
    staff = headers["property_staff"]
    body = {"compound": "c1", "flat": "1-1-101", "plate": "浙a·12345"}
    made = client.post(f"{V1}/vehicles", json=body, headers=staff)
    assert made.status_code == 201, made.text
    assert made.json()["plate"] == RESIDENT  # typed loosely, kept in normal form
    again = client.post(f"{V1}/vehicles", json={**body, "flat": "3-2-301"}, headers=staff)
    assert again.status_code == 409
    assert "1-1-101" in again.json()["detail"]
    listed = client.get(f"{V1}/vehicles", params={"compound": "c1"}, headers=staff).json()
    assert [(v["flat"], v["plate"]) for v in listed["data"]] == [("1-1-101", RESIDENT)]
    gone = client.delete(f"{V1}/vehicles/c1/{quote(RESIDENT)}", headers=staff)
    assert gone.status_code == 200
    assert client.get(f"{V1}/vehicles", params={"compound": "c1"}, headers=staff).json() == {
        "data": [],
        "count": 0,
    }
    missing = client.delete(f"{V1}/vehicles/c1/{quote(RESIDENT)}", headers=staff)
    assert missing.status_code == 422
    assert "no vehicle" in missing.json()["detail"]
    # Logged by household for the registry's readers (grid workers), never by plate.
    log = client.get(
        "/api/v1/registry-changes", params={"compound": "c1"}, headers=headers["grid_worker"]
    )
    assert log.status_code == 200, log.text
    changes = [(c["entity"], c["key"], c["change"]) for c in log.json()["data"]]
    assert changes[-2:] == [("vehicles", "1-1-101", "added"), ("vehicles", "1-1-101", "removed")]
    assert RESIDENT not in log.text


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"plate": "ABC123"}, "province"),
        ({"plate": "京A1234"}, "7"),
        ({"plate": "京AI2345"}, "I and O"),
        ({"flat": "9-9-999"}, "no household"),
        ({"compound": "nowhere"}, "no compound"),
    ],
)
def test_bad_vehicles_are_refused_with_the_reason(
    client: httpx.Client, headers: H, changes: dict[str, str], reason: str
) -> None:
    body = {"compound": "c1", "flat": "1-1-101", "plate": RESIDENT, **changes}
    refused = client.post(f"{V1}/vehicles", json=body, headers=headers["admin"])
    assert refused.status_code in (404, 422)
    assert reason in str(refused.json()["detail"])


def test_visitor_windows_are_checked(client: httpx.Client, headers: H) -> None:
    now = datetime.now(UTC)
    body = {
        "compound": "c1",
        "plate": VISITOR,
        "flat": "3-2-301",
        "valid_from": now.isoformat(),
        "valid_to": (now + timedelta(hours=4)).isoformat(),
    }
    made = client.post(f"{V1}/visitors", json=body, headers=headers["property_staff"])
    assert made.status_code == 201, made.text
    assert made.json()["current"] is True
    for window, reason in (
        ({"valid_to": (now - timedelta(hours=1)).isoformat()}, "end after it starts"),
        ({"valid_to": (now + timedelta(days=40)).isoformat()}, "at most 31 days"),
    ):
        refused = client.post(f"{V1}/visitors", json={**body, **window}, headers=headers["admin"])
        assert refused.status_code == 422
        assert reason in refused.json()["detail"]
    listed = client.get(f"{V1}/visitors", params={"compound": "c1"}, headers=headers["admin"])
    assert [v["plate"] for v in listed.json()["data"]] == [VISITOR]


def test_the_sweep_pairs_reads_into_stays_with_fees(
    client: httpx.Client,
    headers: H,
    api_db: str,
    conn: psycopg.Connection[Any],
    clock: FakeClock,
) -> None:
    staff, viewer = headers["property_staff"], headers["viewer"]
    client.post(
        f"{V1}/vehicles",
        json={"compound": "c1", "flat": "1-1-101", "plate": RESIDENT},
        headers=staff,
    )
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    data.store(
        api_db,
        (
            f"dayuan/v1/c1/barrier/{BARRIER}/telemetry",
            {"ts": int(t0.timestamp() * 1000), "values": {"occupancy": 37, "capacity": 40}},
        ),
    )
    _reads(
        api_db,
        (t0, STRANGER, "in"),
        (t0, RESIDENT, "in"),
        (t0 + timedelta(hours=2, minutes=10), STRANGER, "out"),
    )
    clock.advance(minutes=1)  # past the reads' settling time
    stays = _stays(client, staff, 2)
    by_plate = {s["plate"]: s for s in stays}
    # 2 h 10 min, past the default 30 free minutes: 3 started hours at 5 yuan.
    assert (by_plate[STRANGER]["status"], by_plate[STRANGER]["fee_fen"]) == ("closed", 1500)
    assert by_plate[RESIDENT]["status"] == "open"
    assert (by_plate[RESIDENT]["resident"], by_plate[RESIDENT]["fee_fen"]) == (True, 0)
    seen = client.get(f"{V1}/occupancy", params={"compound": "c1"}, headers=viewer).json()
    assert (seen["open_stays"], seen["barrier_occupancy"], seen["barrier_capacity"]) == (1, 37, 40)
    inside = client.get(
        f"{V1}/stays", params={"compound": "c1", "open": "true"}, headers=viewer
    ).json()
    assert inside["count"] == 1
    assert inside["data"][0]["plate"] is None  # a viewer sees that a car is in, not which
    audited = conn.execute(
        "SELECT count(*) FROM api_audit WHERE action = 'read_stays' AND actor = 'u-property_staff'"
    ).fetchone()
    assert audited is not None
    assert audited[0] >= 1


def test_plates_reach_only_admins_and_property_staff(
    client: httpx.Client, headers: H, api_db: str, clock: FakeClock
) -> None:
    client.post(
        f"{V1}/vehicles",
        json={"compound": "c1", "flat": "1-1-101", "plate": RESIDENT},
        headers=headers["admin"],
    )
    _reads(api_db, (datetime.now(UTC) - timedelta(hours=1), STRANGER, "in"))
    clock.advance(minutes=1)
    _stays(client, headers["admin"], 1)
    for role, h in headers.items():
        texts = [
            client.get(f"{V1}/{what}", params={"compound": "c1"}, headers=h)
            for what in ("vehicles", "visitors", "stays", "occupancy", "tariff")
        ]
        plates_shown = any(STRANGER in r.text or RESIDENT in r.text for r in texts)
        assert plates_shown == (role in ("admin", "property_staff")), role
        if role not in ("admin", "property_staff"):
            assert [r.status_code for r in texts] == [403, 403, 200, 200, 200], role


def test_the_tariff_is_read_by_all_and_set_by_admins(client: httpx.Client, headers: H) -> None:
    got = client.get(f"{V1}/tariff", params={"compound": "c1"}, headers=headers["viewer"])
    assert got.json()["hourly_fen"] == 500  # the default until one is set
    tariff = {
        "free_minutes": 15,
        "hourly_fen": 800,
        "daily_cap_fen": 6000,
        "residents_exempt": False,
        "visitor_free_minutes": 60,
        "missed_read_fee_fen": 3000,
    }
    staff = client.put(
        f"{V1}/tariff", params={"compound": "c1"}, json=tariff, headers=headers["property_staff"]
    )
    assert staff.status_code == 403
    put = client.put(
        f"{V1}/tariff", params={"compound": "c1"}, json=tariff, headers=headers["admin"]
    )
    assert put.status_code == 200, put.text
    got = client.get(f"{V1}/tariff", params={"compound": "c1"}, headers=headers["viewer"])
    assert {k: got.json()[k] for k in tariff} == tariff
    cheap = client.put(
        f"{V1}/tariff",
        params={"compound": "c1"},
        json={**tariff, "daily_cap_fen": 500},
        headers=headers["admin"],
    )
    assert cheap.status_code == 422
    assert "daily_cap_fen" in cheap.json()["detail"]


def test_the_takings_of_a_period_and_stays_by_plate(
    client: httpx.Client, headers: H, api_db: str, clock: FakeClock
) -> None:
    """Today's takings: the fees of the stays that ended in the period (a stay still
    open has paid nothing yet); staff look a plate up by a part of it, typed loosely."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    _reads(
        api_db,
        (t0, STRANGER, "in"),
        (t0 + timedelta(hours=2, minutes=10), STRANGER, "out"),  # 3 started hours: 15 yuan
        (t0 + timedelta(hours=1), VISITOR, "in"),
        (t0 + timedelta(hours=1, minutes=40), VISITOR, "out"),  # 40 min: 1 hour, 5 yuan
        (t0 + timedelta(hours=3), RESIDENT, "in"),  # still inside
    )
    clock.advance(minutes=1)
    staff, viewer = headers["property_staff"], headers["viewer"]
    _stays(client, staff, 3)
    period = {"compound": "c1", "from": t0.isoformat(), "to": (t0 + timedelta(hours=7)).isoformat()}
    total = client.get(f"{V1}/fees", params=period, headers=viewer)
    assert total.status_code == 200, total.text
    assert {k: total.json()[k] for k in ("fee_fen", "stays", "charged")} == {
        "fee_fen": 2000,
        "stays": 2,
        "charged": 2,
    }
    before = {**period, "to": (t0 + timedelta(hours=2)).isoformat()}  # the visitor's only
    assert client.get(f"{V1}/fees", params=before, headers=viewer).json()["fee_fen"] == 500
    for bad, reason in (
        ({"to": t0.isoformat()}, "end after it starts"),
        ({"to": (t0 + timedelta(days=400)).isoformat()}, "at most 366 days"),
    ):
        refused = client.get(f"{V1}/fees", params={**period, **bad}, headers=viewer)
        assert refused.status_code == 422
        assert reason in refused.json()["detail"]

    found = client.get(f"{V1}/stays", params={"compound": "c1", "plate": "e 543"}, headers=staff)
    assert [(s["plate"], s["minutes"]) for s in found.json()["data"]] == [(STRANGER, 130)]
    inside = client.get(
        f"{V1}/stays", params={"compound": "c1", "plate": RESIDENT}, headers=staff
    ).json()["data"]
    assert inside[0]["status"] == "open"
    assert inside[0]["minutes"] >= 180  # until now
    looked_up = client.get(f"{V1}/stays", params={"compound": "c1", "plate": "E5"}, headers=viewer)
    assert looked_up.status_code == 403
    assert "plate" in looked_up.json()["detail"]
