"""Schemathesis against /openapi.json: whatever it sends, the API answers below 500.

One app and one database for all operations (a few hundred requests in all, as every
role); the feed (`/api/v1/stream`) is left out because it never ends - test_stream.py
covers it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.api.conftest import wait_ready

EXAMPLES_PER_OPERATION = 8


def _fuzz(
    operation: Any, base: str, headers: dict[str, dict[str, str]]
) -> tuple[Counter[int], list[str]]:
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), role=st.sampled_from(sorted(headers)))
    def run(case: Any, role: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # schemathesis' own deprecations, not ours
            response = case.call(base_url=base, headers=headers[role], timeout=10)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:300]}")
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:  # an AssertionError or schemathesis' failure group
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:600])

    run()
    return statuses, failures


def test_no_input_gets_a_5xx(client: httpx.Client, headers: dict[str, dict[str, str]]) -> None:
    wait_ready(client)
    base = str(client.base_url)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for result in schema.exclude(path="/api/v1/stream").get_all_operations():
        seen, failed = _fuzz(result.ok(), base, headers)
        statuses += seen
        failures += failed
    assert sum(statuses.values()) > 100
    assert statuses[200] > 50, statuses  # most requests got past authentication
    assert not failures, "\n\n".join(failures)
