"""A TCP proxy the faults bench can cut: the database going away without stopping it.

The bench shares its PostgreSQL server with everything else on the machine, so a
database outage is played between the gateway and the server: `cut()` closes every
connection the proxy carries and stops listening (new connections are refused, as by
a stopped server), `restore()` listens again on the same port. A thread per direction
of each connection: the proxy carries a gateway's few pooled connections, not a fleet.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

CHUNK = 65_536  # bytes per read: a COPY of a batch passes in a few reads
ACCEPT_POLL_S = 0.2  # how often the listener looks up from accept() to see it was cut


class Proxy:
    """Forwards 127.0.0.1:`port` to `target` (host and port, or a Unix socket's path);
    cut and restored on demand."""

    def __init__(self, target: tuple[str, int] | str, port: int) -> None:
        self.target, self.port = target, port
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.connections = 0  # accepted since the start: the gateway's reconnects show here

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.settimeout(ACCEPT_POLL_S)
        with self._lock:
            self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(5)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._open(client)

    def _open(self, client: socket.socket) -> None:
        try:
            server = _connect(self.target)
        except OSError:
            client.close()
            return
        with self._lock:
            if self._listener is None:  # cut meanwhile
                client.close()
                server.close()
                return
            self._sockets |= {client, server}
            self.connections += 1
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _connect(target: tuple[str, int] | str) -> socket.socket:
    if isinstance(target, tuple):
        return socket.create_connection(target)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(target)
    except OSError:
        sock.close()
        raise
    return sock


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(CHUNK):
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def running(target: tuple[str, int] | str, port: int) -> Iterator[Proxy]:
    proxy = Proxy(target, port)
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.cut()
