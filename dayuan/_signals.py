"""How an entry point learns it must stop: SIGINT or SIGTERM set an event. Its own module,
so that a command's module (`dayuan._commands`) need not import the CLI, whose parser
names every command of every package."""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger("dayuan")


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM: the entry point's way to shut down cleanly."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
