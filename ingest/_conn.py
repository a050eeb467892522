"""The connection type every ingest function takes: rows as tuples."""

from typing import Any

import psycopg

Conn = psycopg.Connection[tuple[Any, ...]]
