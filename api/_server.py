"""Running the app on uvicorn in a background thread: for `dayuan up`, which serves the
API beside the gateway and the simulators, and for tests that need a real server."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

STARTUP_TIMEOUT_S = 30.0  # the lifespan opens the pool: a cold database takes a while
# Open SSE streams are cut after this on shutdown instead of holding it up.
GRACEFUL_SHUTDOWN_S = 1


@contextlib.contextmanager
def running(app: FastAPI, *, host: str, port: int) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL. Port 0: a free port,
    bound here before the server starts (no other process can take it in between)."""
    sock: socket.socket | None = None
    if port == 0:
        # IPPROTO_TCP by name: asyncio sets TCP_NODELAY only on sockets whose `proto` says
        # TCP, and a socket made with proto 0 held every kept-alive response back ~40 ms
        # (Nagle against the client's delayed ACK; `dayuan bench queries` measured it).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            proxy_headers=False,  # X-Forwarded-For: api.deps.client_address decides
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    )
    sockets = [sock] if sock is not None else None
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": sockets}, name="dayuan-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            if sock is not None:
                sock.close()
            raise RuntimeError(f"the API did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join()
        if sock is not None:
            sock.close()
