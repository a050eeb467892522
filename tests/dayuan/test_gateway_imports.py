"""A gateway process starts without the API: `dayuan gateway` (and `dayuan rules run`)
serve their metrics through `monitoring`, and the CLI's parser names `dayuan api`
without importing it. Checked in a fresh interpreter, the way the console script runs."""

from __future__ import annotations

import subprocess
import sys

HTTP_STACK = ("api", "fastapi", "starlette", "uvicorn")

PROGRAM = """
import sys
from dayuan import cli
args = cli._parser().parse_args(sys.argv[1:])
import dayuan._commands  # what `dayuan gateway` imports when it runs
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print(",".join(loaded))
"""


def _loaded_by(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM % (HTTP_STACK,), *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


def test_dayuan_gateway_loads_no_http_framework() -> None:
    assert _loaded_by("gateway") == ""
    assert _loaded_by("rules", "run") == ""
