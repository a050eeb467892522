"""JSON logs carry the context bound for the request or device being handled."""

from __future__ import annotations

import io
import logging

import orjson
import structlog

from dayuan._logging import JsonFormatter


def test_json_lines_merge_bound_context_and_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("dayuan.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with structlog.contextvars.bound_contextvars(request_id="r-1", path="/api/v1/cases"):
            logger.warning("refused %s", "x", extra={"device": "light-1"})
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "refused x"
    assert first["level"] == "warning"
    assert (first["request_id"], first["path"], first["device"]) == (
        "r-1",
        "/api/v1/cases",
        "light-1",
    )
    assert "request_id" not in second
