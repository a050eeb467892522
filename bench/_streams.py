"""Live-feed clients for the faults bench: what an operator's dashboard does with
`GET /api/v1/stream` when the API goes away - reconnect, resume with Last-Event-ID.

Each client is a thread holding one Server-Sent Events stream as the administrator (who
sees every row), recording every `alarm` and `case` event by its id. When the stream
ends or breaks it waits `RECONNECT_S` (EventSource's own `retry:` is 3 s; a dashboard
that retries sooner is the harder case for the server) and resumes from the last id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

RECONNECT_S = 0.5
READ_TIMEOUT_S = 30.0  # above the feed's 15 s keepalive: a silent stream is a dead one
FEED_EVENTS = ("alarm", "case")
STOP_WAIT_S = 2.0  # per thread; the threads are daemons, a stopped one exits on its own


@dataclass(slots=True)
class Client:
    base: str
    username: str
    password: str
    started_at: str | None = None  # the cursor of the first `ready`
    cursor: str | None = None
    seen: list[tuple[str, str]] = field(default_factory=list)  # (event, id)
    connects: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def run(self, stop: threading.Event) -> None:
        token = None
        while not stop.is_set():
            try:
                with httpx.Client(base_url=self.base, timeout=READ_TIMEOUT_S) as http:
                    token = token or self._login(http)
                    self._follow(http, token, stop)
            except httpx.HTTPStatusError as exc:
                self.failures[f"http {exc.response.status_code}"] += 1
                if exc.response.status_code == 401:
                    token = None
            except httpx.HTTPError as exc:
                self.failures[type(exc).__name__] += 1
            stop.wait(RECONNECT_S)

    def _login(self, http: httpx.Client) -> str:
        response = http.post(
            "/api/v1/auth/token", data={"username": self.username, "password": self.password}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def _follow(self, http: httpx.Client, token: str, stop: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if self.cursor:
            headers["Last-Event-ID"] = self.cursor
        with http.stream("GET", "/api/v1/stream", headers=headers) as response:
            response.raise_for_status()
            self.connects += 1
            frame: dict[str, str] = {}
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line:
                    name, _, value = line.partition(":")
                    frame[name] = value.strip()
                    continue
                if self._take(frame):
                    return
                frame = {}

    def _take(self, frame: dict[str, str]) -> bool:
        """Record one frame; True when the server ended the stream."""
        event, ident = frame.get("event"), frame.get("id")
        if ident is None:
            return False
        if event == "ready" and self.started_at is None:
            self.started_at = ident
        if event in FEED_EVENTS:
            self.seen.append((event, ident))
        self.cursor = ident
        return event == "end"

    def account(self) -> dict[str, Any]:
        kinds = Counter(event for event, _ in self.seen)
        return {
            "connects": self.connects,
            "received": dict(kinds),
            "duplicated": len(self.seen) - len(set(self.seen)),
            "failures": dict(self.failures),
        }


class Clients:
    """`count` clients on threads, started and stopped together."""

    def __init__(self, base: str, username: str, password: str, count: int) -> None:
        self.clients = [Client(base, username, password) for _ in range(count)]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=c.run, args=(self._stop,), daemon=True) for c in self.clients
        ]

    def start(self, timeout_s: float) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per reconnect attempt
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + timeout_s
        while any(c.started_at is None for c in self.clients):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live feed did not open: {self.clients[0].failures}")
            time.sleep(0.1)

    def settled(self) -> tuple[int, ...]:
        return tuple(len(c.seen) for c in self.clients)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:  # one blocked in a read ends at its next keepalive
            thread.join(STOP_WAIT_S)
