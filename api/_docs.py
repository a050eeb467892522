"""`/docs`: Swagger UI served from files shipped in `api/docs/` (vendored from npm, see
its README), so the API's documentation works with no internet, like the dashboard.
FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline
script; this page loads both from this origin, which the Content-Security-Policy needs.
ReDoc is not served (it has no offline build here; Swagger UI covers the same)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_DIR", "install"]

DOCS_DIR = Path(__file__).with_name("docs")
ASSETS = "/docs/assets"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Dayuan API - Swagger UI</title>
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="{ASSETS}/init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve the page at `/docs` and its files under `/docs/assets/`. The app must be
    created with `docs_url=None, redoc_url=None`."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE)

    app.mount(ASSETS, StaticFiles(directory=DOCS_DIR), name="docs-assets")
