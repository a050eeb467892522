"""The monitoring-room dashboard: static files (HTML, plain JS modules, CSS and the
vendored chart library) served by the API process itself, so that a monitoring room
with no internet and no separate web server still gets it. The files live in
`api/dashboard/`; everything the page needs is shipped there (no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["DASHBOARD_DIR", "mount"]

DASHBOARD_DIR = Path(__file__).with_name("dashboard")


def mount(app: FastAPI) -> None:
    """Serve the dashboard at `/`. Call it after every API route is included: a mount at
    `/` matches any path, so the routes registered before it (/api, /docs, /healthz)
    keep winning and only what they leave over reaches the static files."""
    app.mount("/", StaticFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")
