"""The HTTP edge: security headers on every response, no-store on the API, /docs from
this origin only, request bodies over the limit refused with 413 without echo (declared
or chunked), 422s that do not echo large inputs, the /metrics scrape token, and OPTIONS
on an API route answered by the router, not the dashboard's files."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from api import CONTENT_SECURITY_POLICY, LOGIN_MAX_BODY_BYTES, MAX_BODY_BYTES, create_app
from tests.api.conftest import FakeClock, config_for, serve
from tests.fix_mqtt import Broker

BIG = b'{"note": "' + b"x" * (4 * 1024 * 1024) + b'"}'  # 4 MiB
METRICS_TOKEN = "metrics-scrape-token-for-the-tests"


def _assert_hardened(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/", "/app.js", "/vendor/chart.umd.js", "/healthz", "/docs"])
def test_pages_and_ops_carry_the_security_headers(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    _assert_hardened(response)
    assert response.headers.get("cache-control") != "no-store"  # static files may be cached


def test_the_api_is_never_cached(client: httpx.Client, admin: dict[str, str]) -> None:
    for response in (
        client.get("/api/v1/devices", headers=admin),
        client.get("/api/v1/devices"),  # a 401 too
        client.get("/api/v1/no-such-thing", headers=admin),
    ):
        _assert_hardened(response)
        assert response.headers["cache-control"] == "no-store"


def test_docs_load_nothing_from_another_host(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), page.text
    assert "<script>" not in page.text  # no inline script: the CSP allows none
    for asset in re.findall(r"(?:src|href)=\"(/docs/assets/[^\"]+)\"", page.text):
        assert client.get(asset).status_code == 200
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/users"])
def test_a_large_declared_body_is_refused_without_echo(
    client: httpx.Client, admin: dict[str, str], path: str
) -> None:
    headers = admin | {"content-type": "application/json"}
    response = client.post(path, content=BIG, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"detail": f"the request body is larger than {MAX_BODY_BYTES} bytes"}
    _assert_hardened(response)


def test_a_large_chunked_body_is_refused_without_echo(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(BIG), 65536):
            yield BIG[start : start + 65536]

    headers = admin | {"content-type": "application/json"}
    response = client.post("/api/v1/cases", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert len(response.content) < 200


def test_a_small_chunked_body_still_reaches_the_route(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    body = b'{"username": "chunky", "password": "a-long-enough-password", "role": "viewer"}'
    headers = admin | {"content-type": "application/json"}
    response = client.post("/api/v1/users", content=iter([body[:20], body[20:]]), headers=headers)
    assert response.status_code == 201, response.text


def test_the_login_form_has_a_small_limit(client: httpx.Client) -> None:
    form = {"username": "admin", "password": "p" * (LOGIN_MAX_BODY_BYTES + 1)}
    response = client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 413
    assert "ppp" not in response.text


def test_a_validation_error_does_not_echo_a_large_input(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    long_name = "n" * 10_000
    body = {"username": long_name, "password": 5, "role": "no-such-role"}
    response = client.post("/api/v1/users", json=body, headers=admin)
    assert response.status_code == 422
    assert long_name not in response.text
    assert len(response.text) < 5_000
    inputs = [e.get("input") for e in response.json()["detail"]]
    assert "no-such-role" in inputs  # a short input is still shown


def test_options_on_an_api_route_is_405_not_a_file(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    response = client.options("/api/v1/devices", headers=admin)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert "GET" in response.headers["allow"]
    assert client.put("/api/v1/devices", headers=admin).status_code == 405
    missing = client.get("/api/v1/no-such-thing", headers=admin)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}


def test_metrics_is_open_in_development_without_a_token(client: httpx.Client) -> None:
    assert client.get("/metrics").status_code == 200


def test_metrics_takes_the_scrape_token(api_db: str, broker: Broker) -> None:
    app = create_app(config_for(api_db, broker, metrics_token=METRICS_TOKEN), clock=FakeClock())
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        refused = c.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = c.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        scraped = c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200
        assert "dayuan_" in scraped.text


def test_metrics_is_closed_in_production_without_a_token(api_db: str, broker: Broker) -> None:
    config = config_for(api_db, broker, env="production")
    with serve(create_app(config, clock=FakeClock())) as url:
        response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 403
    assert "DAYUAN_METRICS_TOKEN" in response.json()["detail"]
