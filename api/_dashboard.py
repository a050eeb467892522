"""The monitoring-room dashboard: static files (HTML, plain JS modules, CSS and the
vendored chart library) served by the API process itself, so that a monitoring room
with no internet and no separate web server still gets it. The files live in the
`dashboard` package (`dashboard/static/`); everything the page needs is shipped there
(no CDN)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from dashboard import STATIC_DIR

__all__ = ["mount"]


class _Dashboard:
    """The static files, for what no route claims; never for a path under `api_prefix`
    (an unknown API path is a JSON 404, not a file lookup)."""

    def __init__(self, api_prefix: str) -> None:
        self.api_prefix = api_prefix.rstrip("/") + "/"
        self.files = StaticFiles(directory=STATIC_DIR, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(self.api_prefix):
            raise HTTPException(status_code=404, detail="Not Found")
        await self.files(scope, receive, send)


def mount(app: FastAPI, *, api_prefix: str) -> None:
    """Serve the dashboard at `/` as the router's fallback rather than as a mount: a
    mount at `/` would match every path and method, so a wrong method on an API route
    (OPTIONS, say) would reach the files; as the fallback it comes after the router's
    own 405 for a path some route has."""
    app.router.default = _Dashboard(api_prefix)
