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


def test_the_access_log_is_off_by_default_and_back_at_debug() -> None:
    from dayuan._logging import ACCESS_LOGGER, configure

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        configure("INFO", "text")
        assert not logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO)
        configure("DEBUG", "text")
        assert logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.NOTSET)


def test_the_status_line_reads_at_a_glance() -> None:
    from datetime import UTC, datetime

    from dayuan._up import status_line

    line = status_line(
        datetime(2024, 5, 6, 9, 15, 0, tzinfo=UTC), 1234567, 45.2, {"schema": 2, "json": 3}, 3, 1
    )
    assert line == (
        "09:15:00 | stored 1,234,567 messages (+45/s) | dead letters 5 (json 3, schema 2)"
        " | open: 3 alarms, 1 cases"
    )
