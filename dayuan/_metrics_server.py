"""`/metrics`, `/healthz` and `/readyz` of a process that serves no API (`dayuan
gateway`, `dayuan rules run`), on DAYUAN_METRICS_PORT: Prometheus scrapes every stage,
not only the API process. What the paths answer is `monitoring`'s (the metrics it
renders, its liveness and readiness); this is only the standard library's threading HTTP
server around them: three fixed paths need no framework. `/metrics` takes the same scrape
bearer token as the API's (DAYUAN_METRICS_TOKEN) and, like it, is closed in production
without one."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ingest
import monitoring

log = logging.getLogger(__name__)


@contextlib.contextmanager
def serve(
    host: str,
    port: int,
    render: Callable[[], bytes],
    not_ready: Callable[[], str | None] = lambda: None,
    *,
    maintenance: ingest.MaintenanceStatus | None = None,
    token: str | None = None,
    closed_without_token: bool = False,
) -> Iterator[int]:
    """Serve until the block ends; yields the port (a free one when `port` is 0).
    `/readyz` answers 503 with the reason `not_ready` gives, 200 when it gives None, and
    shows the last maintenance pass when `maintenance` is given (never a 503 for it).
    `/metrics` needs `Authorization: Bearer <token>` when `token` is set, and answers 403
    without one when `closed_without_token` (production)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                refusal = self._refusal()
                if refusal is None:
                    self._send(200, render(), monitoring.CONTENT_TYPE)
                else:
                    self._send(refusal[0], json.dumps({"detail": refusal[1]}), "application/json")
            elif self.path == "/healthz":
                self._send(200, json.dumps(monitoring.liveness()), "application/json")
            elif self.path == "/readyz":
                code, body = monitoring.readiness(not_ready(), maintenance)
                self._send(code, json.dumps(body), "application/json")
            else:
                detail = '{"detail":"only /metrics, /healthz and /readyz here"}'
                self._send(404, detail, "application/json")

        def _refusal(self) -> tuple[int, str] | None:
            if token is None:
                if closed_without_token:
                    return 403, "set DAYUAN_METRICS_TOKEN to scrape /metrics"
                return None
            scheme, _, given = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "bearer" and secrets.compare_digest(
                given.encode(), token.encode()
            ):
                return None
            return 401, "/metrics needs the bearer token of DAYUAN_METRICS_TOKEN"

        def _send(self, status: int, body: str | bytes, kind: str) -> None:
            data = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", "Bearer")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt: str, *args: object) -> None:
            log.debug(fmt, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
