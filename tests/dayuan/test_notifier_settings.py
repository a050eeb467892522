"""The notifier that `dayuan notifier` and `dayuan up` build (`wiring.notifier`) takes its
policy from the settings: DAYUAN_NOTIFY_REPEAT_S sets how soon an unacknowledged SOS goes
to the next person. A fake clock drives it; a recording `Deliver` stands for the channels."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

import cases
import notify
import registry
from dayuan import wiring
from dayuan.settings import Settings
from domain import CompoundFile, SystemClock
from tests.cases.conftest import sos
from tests.notify.conftest import WAIT_S, with_contacts

CALLED = ["s-care", "s-cadre2", "s-worker2", "s-admin"]  # tests/notify/test_repeat.py's
REPEAT_S = 7.0  # well below the 60 s default: a round after 8 s comes from the setting


@dataclass
class FakeClock:
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.at


@dataclass
class Recorder:
    told: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, url: str, message: notify.Message) -> None:
        with self.lock:
            self.told.append(message.recipient)

    def wait_for(self, staff: str) -> list[str]:
        give_up = time.monotonic() + WAIT_S
        while time.monotonic() < give_up:
            with self.lock:
                if staff in self.told:
                    return list(self.told)
            time.sleep(0.05)
        raise AssertionError(f"{staff} never told: {self.told}")


def test_the_repeat_interval_is_the_setting(db_url: str) -> None:
    contacts = {s: [f"json://127.0.0.1:9/{s}"] for s in CALLED}
    with psycopg.connect(db_url, autocommit=True) as conn:
        file = CompoundFile(compounds=[with_contacts(contacts)])
        registry.load(conn, file, actor="test", now=SystemClock().now())
    settings = Settings(database_url=db_url, notify_repeat_s=REPEAT_S)
    clock, recorder = FakeClock(), Recorder()
    with (
        wiring.pool(db_url) as db,
        wiring.notifier(settings, db, clock=clock, deliver=recorder),
        psycopg.connect(db_url, autocommit=True) as conn,
    ):
        cases.Workflow(clock=SystemClock()).intake_alarm(conn, sos(at=clock.now()))
        first = recorder.wait_for("s-care")
        assert "s-admin" not in first  # round 0: the responders and the grid team

        clock.at += timedelta(seconds=REPEAT_S + 1)
        assert "s-admin" in recorder.wait_for("s-admin")  # round 1: the next person
