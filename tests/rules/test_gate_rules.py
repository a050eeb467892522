"""The gate rules issue 18 fixed: tailgating judges the way in, one passer per grant;
a door's held-open timer is re-armed by each grant while it is open.

Timelines in seconds of event time; `g` a grant, `p` a passage (people in brackets).
"""

from __future__ import annotations

from tests.rules.harness import Harness

GATE = "gate-1"


def _grant(h: Harness, direction: str | None = "in", method: str = "face") -> None:
    fields: dict[str, str] = {"result": "granted", "method": method}
    if direction is not None:
        fields["direction"] = direction
    h.event(GATE, "access", **fields)


def _passage(h: Harness, direction: str | None = "in", count: int = 1) -> None:
    if direction is None:
        h.event(GATE, "passage", count=count)
    else:
        h.event(GATE, "passage", direction=direction, count=count)


def test_an_exit_without_a_grant_raises_nothing() -> None:
    """t 0: p(1) out by the exit button, no credential; t 20: p(3) out, a family."""
    h = Harness.of("tailgating")
    _passage(h, "out")
    h.tick(seconds=20)
    _passage(h, "out", count=3)
    h.tick(minutes=1)
    assert h.opened("tailgating") == []


def test_a_group_leaving_on_one_grant_raises_nothing() -> None:
    """At a compound gate that checks both ways: g out at 0, p(2) out at 3."""
    h = Harness.of("tailgating")
    _grant(h, "out")
    h.tick(seconds=3)
    _passage(h, "out", count=2)
    h.tick(minutes=1)
    assert h.opened("tailgating") == []


def test_a_tailgate_into_the_compound_raises_one_alarm() -> None:
    """g in at 0, p(2) in at 3 (one resident, one follower); p(1) in at 5, still unpaid."""
    h = Harness.of("tailgating")
    _grant(h)
    h.tick(seconds=3)
    _passage(h, count=2)
    h.tick(seconds=2)
    _passage(h)
    opened = h.opened("tailgating")
    assert len(opened) == 1
    assert opened[0].device == GATE
    assert opened[0].values["unpaid"] == 1
    [alarm] = h.open_alarms("tailgating")
    assert alarm.count == 2  # the second unpaid passer repeats the one alarm


def test_an_outward_grant_does_not_pay_for_an_inward_passer() -> None:
    """g out at 0 (someone leaving), p(1) in at 2 with no grant of its own."""
    h = Harness.of("tailgating")
    _grant(h, "out")
    h.tick(seconds=2)
    _passage(h)
    assert len(h.opened("tailgating")) == 1


def test_a_busy_door_pairs_each_grant_with_its_passer() -> None:
    """Grants 3 s before their passers, 4 s apart: every 10 s window ending at a passage
    holds one more passage than grants (version 1 raised), yet each passer had a grant.

    t(s)   0  3  4  7  8  11  12  15
    grant  g     g     g      g
    pass      p     p     p       p   (and one without direction at 15: the remote's)
    """
    h = Harness.of("tailgating")
    for _ in range(4):
        _grant(h)
        h.tick(seconds=3)
        _passage(h)
        h.tick(seconds=1)
    _grant(h, None, method="remote")
    _passage(h, None)
    assert h.opened("tailgating") == []


def test_a_spent_grant_does_not_pay_twice() -> None:
    """g at 0, p at 3 (paid), p at 6: the one grant is spent, the second passer raises."""
    h = Harness.of("tailgating")
    _grant(h)
    h.tick(seconds=3)
    _passage(h)
    assert h.opened("tailgating") == []
    h.tick(seconds=3)
    _passage(h)
    assert len(h.opened("tailgating")) == 1


def test_a_door_kept_open_by_a_stream_of_grants_is_not_held_open() -> None:
    """open at 0, a grant every 20 s for 2 min, closed at 125: never 30 s without one."""
    h = Harness.of("door_held_open")
    h.event(GATE, "door", state="open")
    for _ in range(6):
        h.tick(seconds=20)
        _grant(h)
    h.tick(seconds=5)
    h.event(GATE, "door", state="closed")
    h.tick(minutes=1)
    assert h.opened("door_held_open") == []


def test_a_propped_door_raises_30_s_after_the_last_grant() -> None:
    """open at 0, grant at 20, nothing since: raised at 50, not before."""
    h = Harness.of("door_held_open")
    h.event(GATE, "door", state="open")
    h.tick(seconds=20)
    _grant(h)
    h.tick(seconds=25)
    assert h.opened("door_held_open") == []
    h.tick(seconds=10)
    assert len(h.opened("door_held_open")) == 1
