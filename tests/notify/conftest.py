"""Fixtures of the notify tests: real receivers (an SMTP server, an HTTP server), the
test compound with contact points pointing at them, and notifiers on real threads."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from psycopg_pool import ConnectionPool

import cases
import ingest
import notify
import registry
from domain import CompoundFile, Language, SystemClock
from tests.cases.conftest import T0
from tests.factories import compound

Conn = psycopg.Connection[tuple[Any, ...]]
WAIT_S = 30.0  # generous: the tests wait on events, never assert durations
SECRET = "test-webhook-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, n: int) -> list[EmailMessage]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= n, WAIT_S), self.messages
            return list(self.messages)


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server recording every request; `answer` chooses each status."""

    port: int = 0
    posts: list[Post] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    answer: Callable[[Post], int] = lambda post: 200

    def record(self, post: Post) -> int:
        with self.arrived:
            self.posts.append(post)
            self.arrived.notify_all()
        return self.answer(post)

    def wait_for(self, n: int, path: str | None = None) -> list[Post]:
        def mine() -> list[Post]:
            return [p for p in self.posts if path is None or p.path.startswith(path)]

        with self.arrived:
            assert self.arrived.wait_for(lambda: len(mine()) >= n, WAIT_S), self.posts
            return mine()

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            post = Post(self.path, dict(self.headers.items()), self.rfile.read(length))
            code = rec.record(post)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET = _any

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


def mail_url(port: int, to: str) -> str:
    # Plain SMTP on localhost: no TLS (mode=insecure), no login (no user:pass).
    return f"mailto://127.0.0.1:{port}?mode=insecure&from=dayuan@example.org&to={to}"


def with_contacts(
    contacts: dict[str, list[str]], languages: dict[str, Language] | None = None
) -> Any:
    """The test compound (tests.cases) with these staff members' contact points (and
    languages: Chinese unless given)."""
    base = compound()
    read = languages or {}
    staff = [
        s.model_copy(update={"contacts": contacts.get(s.id, [])}) if s.id in contacts else s
        for s in base.staff
    ]
    staff = [s.model_copy(update={"language": read[s.id]}) if s.id in read else s for s in staff]
    return base.model_copy(update={"staff": staff})


@pytest.fixture
def load_contacts(schema_url: str) -> Callable[..., None]:
    def load(contacts: dict[str, list[str]], languages: dict[str, Language] | None = None) -> None:
        file = CompoundFile(compounds=[with_contacts(contacts, languages)])
        with psycopg.connect(schema_url) as conn:
            registry.load(conn, file, actor="test", now=T0)

    return load


@pytest.fixture
def pool(schema_url: str) -> Iterator[ConnectionPool]:
    p: ConnectionPool = ConnectionPool(
        schema_url, min_size=1, max_size=8, open=False, configure=ingest.prepare_connection
    )
    p.open(wait=True)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def conn(schema_url: str) -> Iterator[Conn]:
    with psycopg.connect(schema_url, autocommit=True) as c:
        yield c


@pytest.fixture
def workflow() -> cases.Workflow:
    return cases.Workflow(clock=SystemClock())


@dataclass
class Running:
    notifiers: list[notify.Notifier]
    stop: threading.Event


@pytest.fixture
def run_notifiers(pool: ConnectionPool) -> Iterator[Callable[..., Running]]:
    started: list[tuple[threading.Event, threading.Thread]] = []

    def start(n: int = 1, *, interval_s: float = 0.05, **kwargs: Any) -> Running:
        stop = threading.Event()
        kwargs.setdefault("deliver", notify.Channels(webhook_secret=SECRET))
        kwargs.setdefault("rate", notify.RateLimit(per_s=1000, burst=1000))
        workers = [
            notify.Notifier(pool, clock=SystemClock(), name=f"test-{i}", **kwargs) for i in range(n)
        ]
        for w in workers:
            t = threading.Thread(target=w.run, args=(stop,), kwargs={"interval_s": interval_s})
            t.start()
            started.append((stop, t))
        return Running(workers, stop)

    yield start
    for stop, thread in started:
        stop.set()
        thread.join()
