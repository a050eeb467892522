"""`dayuan care sweep` as an operator runs it: a missed meal becomes one case, however
many times the command runs (each run a new process)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import care
from tests.care.conftest import T0, Conn

DAYUAN = str(Path(sys.executable).with_name("dayuan"))


def _sweep(url: str) -> str:
    done = subprocess.run(
        [DAYUAN, "care", "sweep"],
        env={"DAYUAN_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_sweep_command_opens_the_case_of_a_missed_meal_once(conn: Conn, care_db: str) -> None:
    draft = care.MealScheduleDraft(
        compound="c1",
        flat="3-2-301",
        meal=care.Meal.DINNER,
        weekdays=(1, 2, 3, 4, 5, 6, 7),
        deliverer="p-care",
        starts_on=T0.date() - timedelta(days=3),
    )
    s = care.create_schedule(conn, draft, actor="coordinator", now=T0)
    day = care.DeliveryDraft(compound="c1", schedule_id=s.id, day=T0.date(), done=False)
    care.record_delivery(conn, day, actor="p-care", today=T0.date(), now=T0)
    # Ended at once: the command sweeps at the wall clock's time, and the days after T0
    # would otherwise be days nobody recorded, each a case of its own.
    care.end_schedule(conn, "c1", s.id, actor="coordinator", now=T0)
    assert "1 missed meal(s) and 0 meal(s) not recorded became cases" in _sweep(care_db)
    assert "0 missed meal(s) and 0 meal(s) not recorded became cases" in _sweep(care_db)
    found = conn.execute("SELECT category, flat FROM cases").fetchall()
    assert found == [("meal_missed", "3-2-301")]
