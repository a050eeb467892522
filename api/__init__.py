"""The HTTP API for staff and responders (FastAPI), under `/api/v1`: OAuth2 password
tokens, roles and grid scopes, devices and their commands, telemetry from the rollups,
events, alarms, cases and their workflow, the registry, KPIs, dead letters, a live
feed (SSE) that resumes with `Last-Event-ID`, and `/healthz`, `/readyz`, `/metrics`.
"""

from api._config import ApiConfig, parse_networks
from api._metrics import AlarmLatency, MetricSources, render_process
from api._server import running
from api.main import API_PREFIX, create_app

__all__ = [
    "API_PREFIX",
    "AlarmLatency",
    "ApiConfig",
    "MetricSources",
    "create_app",
    "parse_networks",
    "render_process",
    "running",
]
