"""The monitoring-room dashboard's files: plain HTML, JavaScript modules, CSS and the
vendored chart library (no build step, no CDN), in `static/`. A package only so that
packaging ships them and `api` finds them where it is installed; `api` serves them."""

from pathlib import Path

__all__ = ["STATIC_DIR"]

# A folder of its own, not this package's: what is served must not include `__init__.py`.
STATIC_DIR = Path(__file__).parent / "static"
