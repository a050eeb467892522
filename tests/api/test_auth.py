"""Logins: tokens, the failed-login throttle, trusted proxies, revocation, expiry, the
first and the last administrator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pydantic import ValidationError

from api import (
    CLIENT_MAX_FAILURES,
    CLIENT_WINDOW,
    MAX_TOKEN_TTL_S,
    USER_FREE_FAILURES,
    create_app,
    parse_networks,
)
from api.routes import auth as auth_routes
from dayuan import settings
from tests.api.conftest import (
    ADMIN_PASSWORD,
    PASSWORD,
    FakeClock,
    bearer,
    config_for,
    login,
    serve,
)

TOKEN = "/api/v1/auth/token"


A = "203.0.113.1"  # the attacker's address, as the trusted proxy reports it
B = "198.51.100.7"  # the real user's


def _try(
    client: httpx.Client, username: str, password: str, *, xff: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": xff} if xff else {}
    return client.post(TOKEN, data={"username": username, "password": password}, headers=headers)


@pytest.fixture
def proxied(api_db: str, clock: FakeClock) -> Iterator[httpx.Client]:
    """The API behind a reverse proxy on 127.0.0.1 (the test's own address) that says
    who the client is in X-Forwarded-For."""
    config = config_for(api_db, None, trusted_proxies=parse_networks("127.0.0.1, 10.0.0.0/8"))
    with serve(create_app(config, clock=clock)) as url, httpx.Client(base_url=url) as c:
        yield c


def test_guesses_from_one_address_back_off_there_but_not_elsewhere(
    proxied: httpx.Client, clock: FakeClock
) -> None:
    for _ in range(USER_FREE_FAILURES):
        wrong = _try(proxied, "admin", "wrong", xff=A)
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "wrong username or password"
    throttled = _try(proxied, "admin", ADMIN_PASSWORD, xff=A)  # even the right one, from A
    assert throttled.status_code == 429
    assert "try again in" in throttled.json()["detail"]
    assert 0 < int(throttled.headers["Retry-After"]) <= 61
    assert _try(proxied, "admin", ADMIN_PASSWORD, xff=B).status_code == 200  # not locked out
    # The lock-out doubles with each further failure from A.
    clock.advance(seconds=62)
    assert _try(proxied, "admin", "wrong", xff=A).status_code == 401
    again = _try(proxied, "admin", ADMIN_PASSWORD, xff=A)
    assert again.status_code == 429
    assert 61 < int(again.headers["Retry-After"]) <= 121
    clock.advance(seconds=122)
    assert _try(proxied, "admin", ADMIN_PASSWORD, xff=A).status_code == 200


def test_spraying_usernames_hits_the_per_client_cap_whether_or_not_they_exist(
    proxied: httpx.Client, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dozens of argon2 checks would only slow this down: the throttle is what is tested.
    monkeypatch.setattr(auth_routes, "verify_password", lambda p, h: p == ADMIN_PASSWORD)
    for _ in range(USER_FREE_FAILURES):
        assert _try(proxied, "nobody", "x", xff=A).status_code == 401
    # Guessing a non-existent name does not lock the admin out of the same address.
    assert _try(proxied, "admin", ADMIN_PASSWORD, xff=A).status_code == 200
    for i in range(CLIENT_MAX_FAILURES - USER_FREE_FAILURES):
        name = "admin" if i == 0 else f"nobody-{i}"
        assert _try(proxied, name, "x", xff=A).status_code == 401
    sprayed = _try(proxied, "someone-else", "x", xff=A)
    assert sprayed.status_code == 429
    assert int(sprayed.headers["Retry-After"]) <= CLIENT_WINDOW.total_seconds() + 1
    assert _try(proxied, "admin", ADMIN_PASSWORD, xff=B).status_code == 200
    clock.advance(seconds=CLIENT_WINDOW.total_seconds() + 1)
    assert _try(proxied, "admin", ADMIN_PASSWORD, xff=A).status_code == 200


def test_fifty_concurrent_guesses_check_at_most_the_allowed_passwords(
    proxied: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    lock = threading.Lock()
    real = auth_routes.verify_password

    def counted(password: str, hashed: str | None) -> bool:
        with lock:
            checks.append(password)
        return real(password, hashed)

    monkeypatch.setattr(auth_routes, "verify_password", counted)

    def guess(i: int) -> int:
        with httpx.Client(base_url=str(proxied.base_url), timeout=30) as c:
            return _try(c, "admin", f"guess-{i}", xff=A).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(guess, range(50)))
    assert len(checks) <= USER_FREE_FAILURES
    assert codes.count(401) == len(checks)
    assert codes.count(429) == 50 - len(checks)


def test_forwarded_for_is_ignored_from_an_untrusted_peer(client: httpx.Client) -> None:
    # The default configuration trusts no proxy: every guess is the peer's, whatever
    # the header claims.
    for i in range(USER_FREE_FAILURES):
        assert _try(client, "admin", "wrong", xff=f"192.0.2.{i}").status_code == 401
    assert _try(client, "admin", ADMIN_PASSWORD, xff=B).status_code == 429


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(
    proxied: httpx.Client,
) -> None:
    # The client forges the left part; the proxies (127.0.0.1, 10.0.0.2) append the rest.
    for i in range(USER_FREE_FAILURES):
        forged = f"192.0.2.{i}, {A}, 10.0.0.2"
        assert _try(proxied, "admin", "wrong", xff=forged).status_code == 401
    assert _try(proxied, "admin", ADMIN_PASSWORD, xff=f"192.0.2.99, {A}").status_code == 429
    assert _try(proxied, "admin", ADMIN_PASSWORD, xff=f"{A}, {B}").status_code == 200


def test_a_password_change_revokes_the_users_tokens(
    client: httpx.Client, headers: dict[str, dict[str, str]]
) -> None:
    old = headers["viewer"]
    assert client.get("/api/v1/users/me", headers=old).status_code == 200
    changed = client.patch(
        "/api/v1/users/u-viewer",
        json={"password": "another-long-password"},
        headers=headers["admin"],
    )
    assert changed.status_code == 200, changed.text
    refused = client.get("/api/v1/users/me", headers=old)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert _try(client, "u-viewer", PASSWORD).status_code == 401
    new = bearer(login(client, "u-viewer", "another-long-password"))
    assert client.get("/api/v1/users/me", headers=new).status_code == 200
    assert client.get("/api/v1/users/me", headers=headers["admin"]).status_code == 200


def test_the_last_active_admin_cannot_be_demoted_or_disabled(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    for change in ({"role": "viewer"}, {"active": False}):
        refused = client.patch("/api/v1/users/admin", json=change, headers=admin)
        assert refused.status_code == 409, refused.text
        assert "last active administrator" in refused.json()["detail"]
    second = {"username": "admin2", "password": PASSWORD, "role": "admin"}
    assert client.post("/api/v1/users", json=second, headers=admin).status_code == 201
    demoted = client.patch("/api/v1/users/admin", json={"role": "viewer"}, headers=admin)
    assert demoted.status_code == 200
    other = bearer(login(client, "admin2", PASSWORD))
    assert (
        client.patch("/api/v1/users/admin2", json={"active": False}, headers=other).status_code
        == 409
    )


def test_token_lifetime_is_bounded(api_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.MAX_TOKEN_TTL_S == MAX_TOKEN_TTL_S
    monkeypatch.setenv("DAYUAN_TOKEN_TTL_S", str(settings.MAX_TOKEN_TTL_S + 1))
    with pytest.raises(ValidationError, match="DAYUAN_TOKEN_TTL_S is 86401: it must be"):
        settings.Settings()
    with pytest.raises(ValueError, match="token lifetime"):
        config_for(api_db, None, token_ttl_s=settings.MAX_TOKEN_TTL_S + 1)


def test_trusted_proxies_setting_refuses_what_is_not_an_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAYUAN_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")
    with pytest.raises(ValidationError, match=r"'proxy\.local' is not an IP address"):
        settings.Settings()


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
