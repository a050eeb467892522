"""The broker Dayuan starts for itself when no DAYUAN_MQTT_URL is configured
(development, the demo, tests, benchmarks): Mosquitto when it is on the PATH (the
reference broker, MQTT 5) with a configuration `broker.write_config` generated, else
amqtt, a pure-Python broker that speaks only MQTT 3.1.1 (no shared subscriptions, no
Receive Maximum): the gateway then connects as 3.1.1 with a plain subscription.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

# A broker that is not listening within this long did not start (it takes ~50 ms).
BROKER_START_TIMEOUT_S = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"broker exited with code {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)  # polling a port that is about to open; nothing to wait on instead
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout_s}s")


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


@contextlib.contextmanager
def mosquitto(conf: Path, host: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    binary = mosquitto_binary()
    if binary is None:
        raise RuntimeError("mosquitto is not installed")
    # Its own session: a Ctrl-C meant for Dayuan must not kill the broker under the
    # gateway before the gateway has drained; Dayuan stops it last, in order.
    process = subprocess.Popen(
        [binary, "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_port(host, port, BROKER_START_TIMEOUT_S, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def amqtt_broker(host: str, port: int) -> Iterator[None]:
    """amqtt in a thread of its own (its own event loop); anonymous, MQTT 3.1.1 only."""
    import asyncio

    from amqtt.broker import Broker

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="amqtt", daemon=True)
    thread.start()

    async def start() -> Broker:
        # Built on its own loop's thread: amqtt makes futures of the current loop, and
        # the calling thread may have none (or another test's, closed).
        started = Broker(config, loop=loop)
        await started.start()
        return started

    broker = asyncio.run_coroutine_threadsafe(start(), loop).result(BROKER_START_TIMEOUT_S)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(BROKER_START_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
