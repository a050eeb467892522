"""The app starts, creates its first administrator and serves its documents."""

from __future__ import annotations

import httpx

from tests.api.conftest import wait_ready


def test_starts_and_serves_openapi_and_health(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    wait_ready(client)
    assert client.get("/readyz").json() == {"database": "ok", "broker": "ok"}
    spec = client.get("/openapi.json").json()
    assert "/api/v1/devices/{device_id}/commands" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_first_admin_logs_in(client: httpx.Client, admin: dict[str, str]) -> None:
    me = client.get("/api/v1/users/me", headers=admin).json()
    assert me["username"] == "admin"
    assert me["role"] == "admin"
