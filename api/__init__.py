"""The HTTP API for staff and responders (FastAPI), under `/api/v1`: OAuth2 password
tokens, roles and grid scopes, devices and their commands, telemetry from the rollups,
events, alarms, cases and their workflow, the registry, KPIs, dead letters, a live
feed (SSE) that resumes with `Last-Event-ID`, and `/healthz`, `/readyz`, `/metrics` (rendered
by `monitoring`).
"""

from api._access import User
from api._cases import sees_case_scope
from api._config import MAX_TOKEN_TTL_S, ApiConfig, parse_networks
from api._feed import Cursor as FeedCursor
from api._feed import Entry as FeedEntry
from api._feed import head as feed_head
from api._feed import poll as feed_poll
from api._feed import select as feed_select
from api._http import CONTENT_SECURITY_POLICY, LOGIN_MAX_BODY_BYTES, MAX_BODY_BYTES
from api._hub import QUEUE_DEPTH, Subscription
from api._server import running
from api._throttle import CLIENT_MAX_FAILURES, CLIENT_WINDOW, USER_FREE_FAILURES
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
    "CLIENT_MAX_FAILURES",
    "CLIENT_WINDOW",
    "CONTENT_SECURITY_POLICY",
    "FIRST_ADMIN",
    "LOGIN_MAX_BODY_BYTES",
    "MAX_BODY_BYTES",
    "MAX_TOKEN_TTL_S",
    "QUEUE_DEPTH",
    "USER_FREE_FAILURES",
    "ApiConfig",
    "FeedCursor",
    "FeedEntry",
    "FirstAdmin",
    "Subscription",
    "User",
    "create_app",
    "feed_head",
    "feed_poll",
    "feed_select",
    "first_admin",
    "is_password",
    "parse_networks",
    "reset_password",
    "running",
    "sees_case_scope",
]
