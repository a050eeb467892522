"""`/metrics`, `/healthz` and `/readyz` of a process that serves no API (`dayuan
gateway`, `dayuan rules run`), on DAYUAN_METRICS_PORT: Prometheus scrapes every stage,
not only the API process. The standard library's threading HTTP server: three fixed
paths need no framework."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)


@contextlib.contextmanager
def serve(
    host: str,
    port: int,
    render: Callable[[], str],
    not_ready: Callable[[], str | None] = lambda: None,
) -> Iterator[int]:
    """Serve until the block ends; yields the port (a free one when `port` is 0).
    `/readyz` answers 503 with the reason `not_ready` gives, 200 when it gives None."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, render(), "text/plain; version=0.0.4")
            elif self.path == "/healthz":
                self._send(200, '{"status":"ok"}', "application/json")
            elif self.path == "/readyz":
                reason = not_ready()
                body = {"status": "ready"} if reason is None else {"status": "not ready"}
                body |= {"detail": reason} if reason else {}
                self._send(200 if reason is None else 503, json.dumps(body), "application/json")
            else:
                detail = '{"detail":"only /metrics, /healthz and /readyz here"}'
                self._send(404, detail, "application/json")

        def _send(self, status: int, body: str, kind: str) -> None:
            data = body.encode()
            self.send_response(status)
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
