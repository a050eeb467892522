"""Logins: tokens, the failed-login throttle, expiry, the first administrator."""

from __future__ import annotations

import httpx
import pytest

from api import create_app
from tests.api.conftest import ADMIN_PASSWORD, FakeClock, config_for, serve

TOKEN = "/api/v1/auth/token"


def _try(client: httpx.Client, username: str, password: str, ip: str = "") -> httpx.Response:
    return client.post(TOKEN, data={"username": username, "password": password})


def test_wrong_password_is_401_and_the_sixth_try_is_429_with_retry_after(
    client: httpx.Client, clock: FakeClock
) -> None:
    for _ in range(5):
        wrong = _try(client, "admin", "wrong")
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "wrong username or password"
    throttled = _try(client, "admin", ADMIN_PASSWORD)  # even the right one, for now
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 301
    assert "try again in" in throttled.json()["detail"]
    clock.advance(minutes=5, seconds=2)
    assert _try(client, "admin", ADMIN_PASSWORD).status_code == 200


def test_one_client_guessing_many_usernames_is_throttled_too(client: httpx.Client) -> None:
    for i in range(5):
        assert _try(client, f"nobody-{i}", "x").status_code == 401
    assert _try(client, "someone-else", "x").status_code == 429


def test_tokens_expire_and_forged_tokens_are_refused(
    client: httpx.Client, admin: dict[str, str], clock: FakeClock
) -> None:
    assert client.get("/api/v1/users/me", headers=admin).status_code == 200
    forged = client.get("/api/v1/users/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.json()["detail"].startswith("invalid token")
    clock.advance(hours=9)
    expired = client.get("/api/v1/users/me", headers=admin)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert client.get("/api/v1/users/me").status_code == 401


def test_a_disabled_account_loses_access_at_once(
    client: httpx.Client, headers: dict[str, dict[str, str]]
) -> None:
    admin = headers["admin"]
    client.patch("/api/v1/users/u-viewer", json={"active": False}, headers=admin)
    assert client.get("/api/v1/users/me", headers=headers["viewer"]).status_code == 401


def test_production_refuses_to_start_without_admin_password(api_db: str) -> None:
    with pytest.raises(ValueError, match="ADMIN_PASSWORD"):
        config_for(api_db, None, env="production", admin_password=None)


def test_development_without_admin_password_generates_one(
    api_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(config_for(api_db, None, admin_password=None, token_secret=None))
    with caplog.at_level("WARNING", logger="api.main"), serve(app) as url:
        (record,) = [r for r in caplog.records if "created user" in r.getMessage()]
        password = str(record.args[1]) if isinstance(record.args, tuple) else ""
        with httpx.Client(base_url=url) as c:
            assert _try(c, "admin", password).status_code == 200
            assert c.get("/readyz").json() == {"database": "ok", "broker": "not configured"}
