"""The per-device dead-letter budget, driven by hand with explicit times."""

from __future__ import annotations

from datetime import timedelta

from domain import DeadLetter, Reason
from gateway import Budget, DeadLetterBudget
from tests.gateway.fakes import FixedClock

T0 = FixedClock().now()
BUDGET = Budget(rows=3, window=timedelta(minutes=1))


def letter(device: str | None, at: timedelta, refused: int = 1) -> DeadLetter:
    return DeadLetter.of(
        received_at=T0 + at,
        topic=f"dayuan/v1/c1/light/{device}/telemetry",
        reason=Reason.SCHEMA_VIOLATION,
        detail="bad",
        payload=b"{}",
        device_id=device,
        refused=refused,
    )


def test_past_its_budget_a_device_is_counted_and_summarised_when_the_window_ends() -> None:
    #   a:  x x x s s            | x       (x kept, s suppressed; | the window's end)
    #   b:    x                  |
    #       0 1 2 3 4 ...       60 61 s
    budget = DeadLetterBudget(BUDGET)
    kept = [budget.admit(letter("a", timedelta(seconds=s), refused=1000)) for s in range(5)]
    assert kept == [True, True, True, False, False]
    assert budget.admit(letter("b", timedelta(seconds=1)))  # another device: its own budget
    assert budget.close(T0 + timedelta(seconds=59)) == []
    [summary] = budget.close(T0 + timedelta(seconds=60))
    assert summary.reason is Reason.SUPPRESSED
    assert (summary.device_id, summary.refused, summary.payload) == ("a", 2, b"")
    assert "2 dead letter(s) (2000 refused object(s))" in summary.detail
    assert "schema_violation 2" in summary.detail
    assert budget.admit(letter("a", timedelta(seconds=61)))  # a new window
    assert budget.close(T0 + timedelta(minutes=5)) == []  # nothing suppressed in it


def test_a_window_without_suppression_leaves_no_row() -> None:
    budget = DeadLetterBudget(BUDGET)
    assert budget.admit(letter("a", timedelta()))
    assert budget.close(T0 + timedelta(minutes=2)) == []
