"""Journeys across the packages (device -> broker -> gateway -> storage and rules ->
case -> API or notification), each through the processes' public wiring. The API's
fixtures are borrowed from `tests.api`; the database, broker and gateway ones are the
session plugins of `tests/conftest.py`."""

from tests.api.conftest import admin, api_db, app, base_url, client, clock, headers

__all__ = ["admin", "api_db", "app", "base_url", "client", "clock", "headers"]
