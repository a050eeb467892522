"""Open311 GeoReport v2 against the real app (uvicorn, PostgreSQL, Mosquitto), read
through `georeport`, a GeoReport v2 client from PyPI that nobody here wrote (it has no
POST: requests are submitted with httpx as the specification's form). XML answers are
parsed back with ElementTree and through georeport's xmltodict."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
from georeport import GeoReport

from api import _open311
from tests.api.conftest import bearer, login

V2 = "/open311/v2"
H = dict[str, str]
SERVICES = ["repair", "environment", "parking", "noise", "public_affairs"]
A_FORM = {
    "jurisdiction_id": "c1",
    "service_code": "repair",
    "address_id": "3-1-101",
    "description": "The stairwell light on floor 3 is out",
    "lat": "30.27",
    "long": "120.16",
    "email": "someone@example.org",  # taken, not stored
}


@pytest.fixture
def api_key(client: httpx.Client, admin: H) -> str:
    created = client.post("/api/v1/open311/clients", json={"name": "city-311"}, headers=admin)
    assert created.status_code == 201, created.text
    return str(created.json()["api_key"])


@pytest.fixture
def geo(base_url: str) -> GeoReport:
    return GeoReport(f"{base_url}{V2}", jurisdiction="c1")


def _post(client: httpx.Client, key: str | None, fmt: str = "json", **form: str) -> httpx.Response:
    body = {**A_FORM, **form}
    if key is not None:
        body["api_key"] = key
    return client.post(f"{V2}/requests.{fmt}", data={k: v for k, v in body.items() if v})


def _error(response: httpx.Response, code: int, fmt: str = "json") -> str:
    """The specification's error: the status, and one error with that code."""
    assert response.status_code == code, response.text
    if fmt == "json":
        (error,) = response.json()
        assert error["code"] == code
        return str(error["description"])
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    (error,) = root.findall("error")
    assert error.findtext("code") == str(code)
    return str(error.findtext("description"))


def test_services_through_a_third_party_client_in_json_and_xml(
    geo: GeoReport, base_url: str
) -> None:
    listed = geo.get_service_list()
    assert [s["service_code"] for s in listed] == SERVICES
    assert (listed[0]["metadata"], listed[0]["type"]) == (False, "realtime")
    as_xml = GeoReport(f"{base_url}{V2}", jurisdiction="c1", output_format="xml")
    assert [s["service_code"] for s in as_xml.get_service_list()] == SERVICES
    assert as_xml.get_service_list()[0]["metadata"] == "false"
    assert geo.get_service_definition("noise") == {"service_code": "noise", "attributes": []}
    assert as_xml.get_service_definition("noise")["service_code"] == "noise"
    with pytest.raises(requests.HTTPError):  # a category not open to the public: 400
        geo.get_service_definition("elderly_care")


def test_a_post_opens_a_dispatched_case_followed_through_the_client(
    client: httpx.Client, admin: H, api_key: str, geo: GeoReport, base_url: str
) -> None:
    posted = _post(client, api_key)
    assert posted.status_code == 201, posted.text
    (answer,) = posted.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert "within 1 hour" in answer["service_notice"]  # the policy's minor acknowledge
    case_id = int(answer["service_request_id"])

    case = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()
    assert (case["state"], case["source"], case["category"]) == ("dispatched", "resident", "repair")
    assert (case["location"], case["grid_id"]) == ("3-1-101", "g2")
    assert "someone@example.org" not in str(case)

    seen = geo.get_service_request(str(case_id))
    assert seen["status"] == "open"
    assert seen["service_code"] == "repair"
    # Which flat reported what is shown to client applications only.
    assert (seen["address_id"], seen["address"]) == (None, None)
    keyed = client.get(
        f"{V2}/requests/{case_id}.json", params={"jurisdiction_id": "c1", "api_key": api_key}
    )
    assert keyed.json()[0]["address_id"] == "3-1-101"
    assert seen["agency_responsible"] == "property company"
    assert (seen["lat"], seen["long"]) == (30.27, 120.16)
    requested = datetime.fromisoformat(seen["requested_datetime"])
    assert requested.utcoffset() == timedelta(hours=8)  # the compound's time zone, Shanghai
    assert datetime.fromisoformat(seen["expected_datetime"]) > requested

    as_xml = GeoReport(f"{base_url}{V2}", jurisdiction="c1", output_format="xml")
    from_xml = as_xml.get_service_request(str(case_id))
    assert (from_xml["service_request_id"], from_xml["status"]) == (str(case_id), "open")

    xml_post = _post(client, api_key, "xml", address_id="", address_string="north gate")
    assert xml_post.status_code == 201, xml_post.text
    root = ET.fromstring(xml_post.content)
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id") is not None
    assert xml_post.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def _close(client: httpx.Client, admin: H, case_id: int) -> None:
    case = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()
    for action, body in (("acknowledge", {}), ("start", {}), ("resolve", {"note": "fixed"})):
        done = client.post(
            f"/api/v1/cases/{case_id}/{action}",
            json={"version": case["version"], **body},
            headers=admin,
        )
        assert done.status_code == 200, done.text
        case = done.json()


def test_get_requests_filters_by_id_code_status_and_dates(
    client: httpx.Client, admin: H, api_key: str, geo: GeoReport
) -> None:
    ids = [
        int(_post(client, api_key, service_code=code).json()[0]["service_request_id"])
        for code in ("repair", "noise", "noise")
    ]
    _close(client, admin, ids[1])

    def listed(**query: Any) -> list[int]:
        return [int(r["service_request_id"]) for r in geo.get_service_requests(**query)]

    assert listed() == sorted(ids, reverse=True)
    assert listed(service_code="noise") == [ids[2], ids[1]]
    assert listed(status="closed") == [ids[1]]
    assert listed(status="open", service_code="repair,noise") == [ids[2], ids[0]]
    assert listed(service_request_id=f"{ids[0]},{ids[1]}", status="open") == [ids[1], ids[0]]
    assert listed(start_date="2020-01-01T00:00:00Z", end_date="2020-02-01T00:00:00+08:00") == []
    closed = geo.get_service_request(str(ids[1]))
    assert (closed["status"], closed["status_notes"]) == ("closed", "resolved")
    assert closed["expected_datetime"] is None

    # A case opened by staff or an alarm is not a city platform's to read.
    staff = client.post(
        "/api/v1/cases",
        json={"compound": "c1", "category": "repair", "description": "d", "reporter": "r-1"},
        headers=admin,
    )
    assert staff.status_code == 201, staff.text
    assert staff.json()["id"] not in listed()
    _error(client.get(f"{V2}/requests/{staff.json()['id']}.json?jurisdiction_id=c1"), 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_input_answers_in_the_specifications_error_format(
    client: httpx.Client, admin: H, api_key: str, fmt: str
) -> None:
    assert "api_key" in _error(_post(client, None, fmt), 403, fmt)
    assert "not valid" in _error(_post(client, "guessed-key", fmt), 403, fmt)
    assert "jurisdiction" in _error(_post(client, api_key, fmt, jurisdiction_id="c9"), 404, fmt)
    assert "jurisdiction" in _error(_post(client, api_key, fmt, jurisdiction_id=""), 400, fmt)
    assert "service_code" in _error(_post(client, api_key, fmt, service_code="sos"), 400, fmt)
    assert "location" in _error(
        _post(client, api_key, fmt, address_id="", lat="", long=""), 400, fmt
    )
    assert "lat" in _error(_post(client, api_key, fmt, lat="91"), 400, fmt)
    assert "lat" in _error(_post(client, api_key, fmt, lat="nan"), 400, fmt)
    assert "address_id" in _error(_post(client, api_key, fmt, address_id="9-9-909"), 400, fmt)
    assert "description" in _error(_post(client, api_key, fmt, description="x" * 4001), 400, fmt)
    assert "media_url" in _error(
        _post(client, api_key, fmt, media_url="javascript:alert(1)"), 400, fmt
    )
    base = f"{V2}/requests.{fmt}?jurisdiction_id=c1"
    assert "status" in _error(client.get(f"{base}&status=pending"), 400, fmt)
    assert "start_date" in _error(client.get(f"{base}&start_date=yesterday"), 400, fmt)
    assert "time zone" in _error(client.get(f"{base}&start_date=2026-01-01T00:00:00"), 400, fmt)
    assert "90 days" in _error(
        client.get(f"{base}&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"),
        400,
        fmt,
    )
    assert "service_request_id" in _error(client.get(f"{base}&service_request_id=1;2"), 400, fmt)
    _error(client.get(f"{V2}/requests/999999.{fmt}?jurisdiction_id=c1"), 404, fmt)
    _error(client.get(f"{V2}/services.{fmt}?jurisdiction_id=nowhere"), 404, fmt)
    # None of it opened a case.
    assert client.get("/api/v1/cases", headers=admin).json()["count"] == 0


def test_a_revoked_key_is_refused_and_keys_are_never_shown_again(
    client: httpx.Client, admin: H, api_key: str
) -> None:
    listed = client.get("/api/v1/open311/clients", headers=admin).json()
    assert listed["count"] == 1
    assert "api_key" not in listed["data"][0]
    assert api_key not in str(listed)
    dup = client.post("/api/v1/open311/clients", json={"name": "city-311"}, headers=admin)
    assert dup.status_code == 409
    client_id = listed["data"][0]["id"]
    assert client.delete(f"/api/v1/open311/clients/{client_id}", headers=admin).status_code == 200
    _error(_post(client, api_key), 403)


def test_unknown_format_is_404(client: httpx.Client) -> None:
    _error(client.get(f"{V2}/services.yaml?jurisdiction_id=c1"), 404)


def test_only_an_admin_manages_clients(client: httpx.Client, admin: H) -> None:
    body = {"username": "u-prop", "password": "a-long-enough-password", "role": "property_staff"}
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    prop = bearer(login(client, "u-prop", "a-long-enough-password"))
    refused = client.post("/api/v1/open311/clients", json={"name": "x"}, headers=prop)
    assert refused.status_code == 403


def test_a_client_over_its_hourly_allowance_is_refused_with_429(
    client: httpx.Client, admin: H, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_open311, "POSTS_PER_HOUR", 2)
    assert [_post(client, api_key).status_code for _ in range(2)] == [201, 201]
    assert "the most allowed" in _error(_post(client, api_key), 429)
    assert client.get("/api/v1/cases", headers=admin).json()["count"] == 2
