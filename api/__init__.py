"""The HTTP API for staff and responders (FastAPI), under `/api/v1`: OAuth2 password
tokens, roles and grid scopes, devices and their commands, telemetry from the rollups,
events, alarms, cases and their workflow, the registry, KPIs, dead letters, a live
feed (SSE) that resumes with `Last-Event-ID`, and `/healthz`, `/readyz`, `/metrics` (rendered
by `monitoring`).
"""

from api._config import ApiConfig, parse_networks
from api._server import running
from api._users import (
    ADMIN_PASSWORD_IGNORED,
    FIRST_ADMIN,
    FirstAdmin,
    first_admin,
    is_password,
    reset_password,
)
from api.main import API_PREFIX, create_app

__all__ = [
    "ADMIN_PASSWORD_IGNORED",
    "API_PREFIX",
    "FIRST_ADMIN",
    "ApiConfig",
    "FirstAdmin",
    "create_app",
    "first_admin",
    "is_password",
    "parse_networks",
    "reset_password",
    "running",
]
